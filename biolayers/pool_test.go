package biolayers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

type poolCase struct {
	xDims   []int
	isMax   bool
	window  []int
	strides []int // nil: default
	padSame bool
	padding []int
}

func (c poolCase) String() string {
	kind := "avg"
	if c.isMax {
		kind = "max"
	}
	return fmt.Sprintf("%s_x%v_w%v_s%v_same%v_pad%v", kind, c.xDims, c.window, c.strides, c.padSame, c.padding)
}

func (c poolCase) build(x *graph.Node) *graph.Node {
	p := AvgPool(x)
	if c.isMax {
		p = MaxPool(x)
	}
	p.Window(c.window...)
	if c.padSame {
		p.PadSame()
	}
	if c.padding != nil {
		p.Padding(c.padding...)
	}
	if c.strides != nil {
		p.Strides(c.strides...)
	}
	return p.Done()
}

// reference pools x in plain Go (float64), independently of the package's window code.
func (c poolCase) reference(data []float64) (out []float64, outDims []int) {
	n := len(c.xDims) - 2
	in := c.xDims[1 : n+1]
	batch, ch := c.xDims[0], c.xDims[n+1]
	win := perAxis("", n, c.window)
	var strides []int
	switch {
	case c.strides != nil:
		strides = perAxis("", n, c.strides)
	case c.padSame:
		strides = perAxis("", n, []int{1})
	default:
		strides = win
	}
	lo := make([]int, n)
	hi := make([]int, n)
	for i := range n {
		if c.padSame {
			lo[i], hi[i] = (win[i]-1)/2, win[i]/2
		} else if c.padding != nil {
			p := perAxis("", n, c.padding)[i]
			lo[i], hi[i] = p, p
		}
	}
	o := make([]int, n)
	for i := range n {
		o[i] = (in[i]+lo[i]+hi[i]-win[i])/strides[i] + 1
	}
	outDims = append(append([]int{batch}, o...), ch)
	strideOf := func(dims []int, a int) int { // row-major stride of axis a in [batch, dims..., ch]
		s := ch
		for j := a + 1; j < len(dims); j++ {
			s *= dims[j]
		}
		return s
	}
	var rec func(a int, opos, wpos []int)
	out = make([]float64, 0, batch*prod(o)*ch)
	for b := 0; b < batch; b++ {
		// iterate output positions in row-major order
		total := prod(o)
		for oi := 0; oi < total; oi++ {
			opos := make([]int, n)
			r := oi
			for a := n - 1; a >= 0; a-- {
				opos[a] = r % o[a]
				r /= o[a]
			}
			for cc := 0; cc < ch; cc++ {
				best, sum, cnt := math.Inf(-1), 0.0, 0
				rec = func(a int, opos, wpos []int) {
					if a == n {
						off := b * prod(in) * ch
						for j := 0; j < n; j++ {
							p := opos[j]*strides[j] - lo[j] + wpos[j]
							if p < 0 || p >= in[j] {
								return
							}
							off += p * strideOf(in, j)
						}
						v := data[off+cc]
						best = math.Max(best, v)
						sum += v
						cnt++
						return
					}
					for k := 0; k < win[a]; k++ {
						wpos[a] = k
						rec(a+1, opos, wpos)
					}
				}
				rec(0, opos, make([]int, n))
				if c.isMax {
					out = append(out, best)
				} else {
					out = append(out, sum/float64(cnt))
				}
			}
		}
	}
	return
}

var poolCases = []poolCase{
	{xDims: []int{2, 6, 4, 3}, isMax: true, window: []int{2}},                     // tiling fast path
	{xDims: []int{2, 6, 4, 3}, isMax: false, window: []int{2}},                    // tiling fast path
	{xDims: []int{2, 7, 5, 2}, isMax: true, window: []int{2}},                     // odd sizes: gather path
	{xDims: []int{2, 7, 5, 2}, isMax: false, window: []int{3}, strides: []int{2}}, // overlapping
	{xDims: []int{2, 5, 6, 2}, isMax: true, window: []int{3}, padSame: true},      // same, stride 1
	{xDims: []int{2, 5, 6, 2}, isMax: false, window: []int{3, 2}, padSame: true},  // same, stride 1
	{xDims: []int{1, 7, 7, 2}, isMax: true, window: []int{3}, strides: []int{2}, padSame: true},
	{xDims: []int{1, 7, 7, 2}, isMax: false, window: []int{3}, strides: []int{2}, padding: []int{1}},
	{xDims: []int{2, 9, 3}, isMax: true, window: []int{3}, strides: []int{2}},        // 1-D
	{xDims: []int{2, 8, 3}, isMax: false, window: []int{4}},                          // 1-D tiling
	{xDims: []int{1, 4, 4, 6, 2}, isMax: true, window: []int{2}},                     // 3-D tiling
	{xDims: []int{1, 5, 4, 3, 2}, isMax: false, window: []int{2}, strides: []int{1}}, // 3-D overlapping
}

func TestPooling(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, c := range poolCases {
		t.Run(c.String(), func(t *testing.T) {
			x := randTensor(rng, c.xDims...)
			want, wantDims := c.reference(flat(x))
			got := graph.MustExecOnce(backend(), func(x *graph.Node) *graph.Node { return c.build(x) }, x)
			if fmt.Sprint(got.Shape().Dimensions) != fmt.Sprint(wantDims) {
				t.Fatalf("shape %v, want %v", got.Shape().Dimensions, wantDims)
			}
			assertClose(t, "forward", flat(got), want, 1e-12, 1e-12)
			loss := func(in []*graph.Node) *graph.Node {
				return graph.ReduceAllSum(graph.Mul(graph.Sin(c.build(in[0])), graph.Cos(c.build(graph.MulScalar(in[0], 0.7)))))
			}
			fdCheck(t, "first", loss, []*tensors.Tensor{x}, 12, 1e-6, 1e-5)
			fdCheck(t, "second", func(in []*graph.Node) *graph.Node {
				g := graph.Gradient(loss(in), in[0])[0]
				return graph.ReduceAllSum(graph.Square(g))
			}, []*tensors.Tensor{x}, 12, 1e-5, 1e-4)
		})
	}
}

func TestGlobalAvgPoolFlattenRelu6(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	x := randTensor(rng, 2, 3, 4, 5)
	outs := graph.MustExecOnceN(backend(), func(x *graph.Node) []*graph.Node {
		return []*graph.Node{GlobalAvgPool(x), Flatten(x), Relu6(graph.MulScalar(x, 5))}
	}, x)
	d := flat(x)
	want := make([]float64, 2*5)
	for b := 0; b < 2; b++ {
		for i := 0; i < 12; i++ {
			for c := 0; c < 5; c++ {
				want[b*5+c] += d[b*60+i*5+c] / 12
			}
		}
	}
	assertClose(t, "gap", flat(outs[0]), want, 1e-12, 1e-12)
	if fmt.Sprint(outs[1].Shape().Dimensions) != "[2 60]" {
		t.Errorf("Flatten shape %v", outs[1].Shape().Dimensions)
	}
	r := flat(outs[2])
	for i, v := range d {
		w := math.Min(math.Max(5*v, 0), 6)
		if r[i] != w {
			t.Fatalf("Relu6(%g) = %g, want %g", 5*v, r[i], w)
		}
	}
}

func TestSubsampleAndPadChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	x := randTensor(rng, 2, 5, 4, 3)
	outs := graph.MustExecOnceN(backend(), func(x *graph.Node) []*graph.Node {
		return []*graph.Node{Subsample(x, 2), PadChannels(x, 1, 2)}
	}, x)
	d := flat(x)
	var want []float64
	for b := 0; b < 2; b++ {
		for i := 0; i < 5; i += 2 {
			for j := 0; j < 4; j += 2 {
				for c := 0; c < 3; c++ {
					want = append(want, d[((b*5+i)*4+j)*3+c])
				}
			}
		}
	}
	if fmt.Sprint(outs[0].Shape().Dimensions) != "[2 3 2 3]" {
		t.Fatalf("Subsample shape %v", outs[0].Shape().Dimensions)
	}
	assertClose(t, "subsample", flat(outs[0]), want, 0, 0)
	want = want[:0]
	for i := 0; i < len(d); i += 3 {
		want = append(want, 0, d[i], d[i+1], d[i+2], 0, 0)
	}
	assertClose(t, "padchannels", flat(outs[1]), want, 0, 0)
	f := func(in []*graph.Node) *graph.Node {
		y := PadChannels(Subsample(in[0], 2, 1), 2, 1)
		return graph.ReduceAllSum(graph.Sin(graph.Square(y)))
	}
	fdCheck(t, "first", f, []*tensors.Tensor{x}, 12, 1e-6, 1e-5)
	fdCheck(t, "second", func(in []*graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Square(graph.Gradient(f(in), in[0])[0]))
	}, []*tensors.Tensor{x}, 12, 1e-5, 1e-4)
}
