// Package idx reads files in the idx format of the MNIST database (and of the many data sets that copied
// it, such as Fashion-MNIST, KMNIST and EMNIST), raw or gzip-compressed.
//
// An idx file starts with a 4-byte magic number: two zero bytes, a type code (0x08 unsigned byte, 0x09
// signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of dimensions. Then
// come the dimensions, each a big-endian uint32, and finally the values in row-major order, big-endian.
//
// Every failure (missing file, gzip error, bad magic, unknown type, truncated or over-long data,
// mismatched image and label counts) is returned as an error that names the file; nothing panics on bad
// input.
package idx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// DType is the type code of an idx file (the third byte of its magic number).
type DType byte

// The idx type codes.
const (
	Uint8   DType = 0x08
	Int8    DType = 0x09
	Int16   DType = 0x0B
	Int32   DType = 0x0C
	Float32 DType = 0x0D
	Float64 DType = 0x0E
)

// Size returns the number of bytes of one value of the type, or 0 for an unknown type code.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8:
		return 1
	case Int16:
		return 2
	case Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// String returns the name of the type code, e.g. "uint8", or "unknown(0x..)".
func (d DType) String() string {
	switch d {
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int16:
		return "int16"
	case Int32:
		return "int32"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("unknown(0x%02x)", byte(d))
}

// MaxElements bounds the number of values an idx header may announce (2³¹), so that a corrupt header is
// reported as an error instead of exhausting memory.
const MaxElements = 1 << 31

// Array is the content of one idx file: its type, its dimensions and its values as raw big-endian bytes.
// Use the accessors (At, Float32s) to decode values.
type Array struct {
	// DType is the type of the values.
	DType DType
	// Dims are the dimensions, outermost first (e.g. [N, 28, 28] for MNIST images).
	Dims []int
	// Data holds the values, row-major, big-endian, len(Data) == Len()·DType.Size().
	Data []byte
}

// Len returns the number of values (the product of the dimensions).
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// At returns value i (flat, row-major index) converted to float64. It returns an error when i is out of range.
func (a *Array) At(i int) (float64, error) {
	if i < 0 || i >= a.Len() {
		return 0, fmt.Errorf("idx: index %d out of range [0, %d)", i, a.Len())
	}
	size := a.DType.Size()
	b := a.Data[i*size : (i+1)*size]
	switch a.DType {
	case Uint8:
		return float64(b[0]), nil
	case Int8:
		return float64(int8(b[0])), nil
	case Int16:
		return float64(int16(binary.BigEndian.Uint16(b))), nil
	case Int32:
		return float64(int32(binary.BigEndian.Uint32(b))), nil
	case Float32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	case Float64:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
	return 0, fmt.Errorf("idx: unknown data type %s", a.DType)
}

// Float32s decodes all values into float32, each multiplied by scale (e.g. 1/255 to map bytes to [0, 1]).
func (a *Array) Float32s(scale float32) []float32 {
	n := a.Len()
	out := make([]float32, n)
	if a.DType == Uint8 { // Fast path: the MNIST images.
		for i, b := range a.Data[:n] {
			out[i] = float32(b) * scale
		}
		return out
	}
	for i := range out {
		v, _ := a.At(i) // i is in range and the type was validated when reading.
		out[i] = float32(v) * scale
	}
	return out
}

// Read parses an idx stream (not compressed). name is used in error messages only (usually the file path).
func Read(r io.Reader, name string) (*Array, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("idx file %q: reading the magic number: %w", name, noEOF(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("idx file %q: bad magic number % x: the first two bytes must be zero", name, magic)
	}
	a := &Array{DType: DType(magic[2])}
	size := a.DType.Size()
	if size == 0 {
		return nil, fmt.Errorf("idx file %q: bad magic number % x: unknown data type code 0x%02x", name, magic, magic[2])
	}
	nDims := int(magic[3])
	if nDims == 0 {
		return nil, fmt.Errorf("idx file %q: bad magic number % x: zero dimensions", name, magic)
	}
	header := make([]byte, 4*nDims)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("idx file %q: reading %d dimensions: %w", name, nDims, noEOF(err))
	}
	a.Dims = make([]int, nDims)
	for i := range a.Dims {
		a.Dims[i] = int(binary.BigEndian.Uint32(header[4*i:]))
	}
	total, ok := elements(a.Dims)
	if !ok {
		return nil, fmt.Errorf("idx file %q: the header announces dimensions %v, more than %d values in all: the header is corrupt",
			name, a.Dims, MaxElements)
	}
	want := int64(total) * int64(size)
	// Read at most one byte more than announced, growing the buffer as data arrives: a corrupt header cannot
	// make us allocate more memory than the file actually holds.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, want+1))
	if err != nil {
		return nil, fmt.Errorf("idx file %q: reading %d bytes of %s data %v: %w", name, want, a.DType, a.Dims, err)
	}
	if n < want {
		return nil, fmt.Errorf("idx file %q: truncated: header announces %v %s values (%d bytes), found only %d bytes",
			name, a.Dims, a.DType, want, n)
	}
	if n > want {
		return nil, fmt.Errorf("idx file %q: wrong size: more data than the %d bytes announced by the header %v %s",
			name, want, a.Dims, a.DType)
	}
	a.Data = buf.Bytes()
	return a, nil
}

// elements returns the product of dims, or false when it exceeds MaxElements.
func elements(dims []int) (int, bool) {
	total := 1
	for _, d := range dims {
		if d == 0 {
			return 0, true
		}
	}
	for _, d := range dims {
		if total > MaxElements/d {
			return 0, false
		}
		total *= d
	}
	return total, true
}

// ReadFile reads an idx file, decompressing it when it is gzip-compressed (detected from its first bytes,
// whatever its extension).
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("idx: opening %q: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	return ReadMaybeGzip(f, path)
}

// ReadMaybeGzip parses an idx stream that may be gzip-compressed (detected from its first two bytes). name
// is used in error messages only. A damaged gzip stream (cut short, bad checksum) is reported as such,
// with the number of bytes decompressed before the damage, rather than as a malformed idx header.
func ReadMaybeGzip(r io.Reader, name string) (*Array, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(2)
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return Read(br, name)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("idx file %q: gzip header: %w", name, noEOF(err))
	}
	gr := &gzipReader{r: zr}
	a, err := Read(gr, name)
	if err == nil {
		// Drain to the end so that the gzip checksum is verified.
		_, err = io.Copy(io.Discard, gr)
	}
	if gr.err != nil {
		return nil, gr.describe(name)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// gzipReader counts the bytes decompressed and keeps the first error of the gzip stream itself, so that a
// damaged stream is reported as a gzip problem.
type gzipReader struct {
	r   io.Reader
	n   int64
	err error
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	if err != nil && err != io.EOF && g.err == nil {
		g.err = err
	}
	return n, err
}

// describe explains the gzip error kept by g.
func (g *gzipReader) describe(name string) error {
	if errors.Is(g.err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("idx file %q: the gzip stream is cut short after %d decompressed bytes: the file is truncated (%w)",
			name, g.n, g.err)
	}
	return fmt.Errorf("idx file %q: damaged gzip stream after %d decompressed bytes: %w", name, g.n, g.err)
}

// noEOF turns a bare io.EOF into io.ErrUnexpectedEOF: in the middle of a header an EOF is a truncation.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
