package idx

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// FuzzReadMaybeGzip feeds arbitrary bytes, raw or gzip-compressed, to the reader: it must never panic, an
// accepted input must be consistent (data length = product of dimensions × value size), and a rejected one
// must give an error that names the file and says what is wrong.
func FuzzReadMaybeGzip(f *testing.F) {
	good := encode(Uint8, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	_, _ = zw.Write(good)
	_ = zw.Close()
	seeds := [][]byte{
		nil, {0, 0}, good, zbuf.Bytes(), zbuf.Bytes()[:12], good[:len(good)-1], append(good[:len(good):len(good)], 9),
		encode(Float64, []int{1, 1}, make([]byte, 8)), encode(Int16, []int{3_000_000_000, 2}, nil),
		{0, 0, 0x42, 1, 0, 0, 0, 1, 1}, {0x1f, 0x8b, 8, 0},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.idx"
		a, err := ReadMaybeGzip(bytes.NewReader(data), name)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, name) || len(msg) < len(name)+20 {
				t.Fatalf("error %q does not name the file or the problem", msg)
			}
			return
		}
		if len(a.Dims) == 0 || a.DType.Size() == 0 || len(a.Data) != a.Len()*a.DType.Size() {
			t.Fatalf("accepted an inconsistent array: %s %v with %d bytes", a.DType, a.Dims, len(a.Data))
		}
		_ = a.Float32s(1)
	})
}
