package biolayers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
)

// convCase is one convolution configuration.
type convCase struct {
	xDims     []int // [batch, spatial..., inC]
	channels  int
	kernel    []int
	strides   []int
	dilations []int
	padSame   bool
	padding   []int // explicit symmetric padding (not available in layers.Convolution)
	bias      bool
}

func (c convCase) String() string {
	return fmt.Sprintf("x%v_k%v_s%v_d%v_same%v_pad%v_bias%v", c.xDims, c.kernel, c.strides, c.dilations, c.padSame, c.padding, c.bias)
}

func (c convCase) ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

func (c convCase) window() *window {
	n := len(c.xDims) - 2
	strides, dil, kernel := c.ones(n), c.ones(n), perAxis("", n, c.kernel)
	if c.strides != nil {
		strides = perAxis("", n, c.strides)
	}
	if c.dilations != nil {
		dil = perAxis("", n, c.dilations)
	}
	pads := make([][2]int, n)
	if c.padSame {
		pads = samePaddings(kernel, dil)
	}
	if c.padding != nil {
		for i, p := range perAxis("", n, c.padding) {
			pads[i] = [2]int{p, p}
		}
	}
	return newWindow(c.xDims[1:len(c.xDims)-1], kernel, strides, dil, pads)
}

func (c convCase) build(ctx *context.Context, x *graph.Node) *graph.Node {
	b := Convolution(ctx, x).Channels(c.channels).KernelSize(c.kernel...).UseBias(c.bias)
	if c.strides != nil {
		b.Strides(c.strides...)
	}
	if c.dilations != nil {
		b.Dilations(c.dilations...)
	}
	if c.padSame {
		b.PadSame()
	}
	if c.padding != nil {
		b.Padding(c.padding...)
	}
	return b.Done()
}

var convCases = []convCase{
	{xDims: []int{2, 7, 3}, channels: 4, kernel: []int{3}, bias: true},
	{xDims: []int{2, 8, 2}, channels: 3, kernel: []int{3}, strides: []int{2}, padSame: true, bias: false},
	{xDims: []int{2, 9, 2}, channels: 2, kernel: []int{2}, dilations: []int{3}, bias: true},
	{xDims: []int{2, 5, 6, 3}, channels: 4, kernel: []int{3, 3}, bias: true},
	{xDims: []int{2, 5, 6, 3}, channels: 4, kernel: []int{3, 2}, padSame: true, bias: true},
	{xDims: []int{2, 7, 6, 2}, channels: 3, kernel: []int{3, 3}, strides: []int{2, 1}, padSame: true, bias: true},
	{xDims: []int{2, 7, 7, 2}, channels: 3, kernel: []int{3, 3}, strides: []int{2}, bias: false},
	{xDims: []int{2, 7, 7, 2}, channels: 3, kernel: []int{2, 2}, dilations: []int{2}, padSame: true, bias: true},
	{xDims: []int{2, 4, 4, 3}, channels: 5, kernel: []int{1}, bias: true},
	{xDims: []int{1, 4, 5, 3, 2}, channels: 3, kernel: []int{2, 3, 2}, bias: true},
	{xDims: []int{1, 5, 4, 4, 2}, channels: 2, kernel: []int{3}, strides: []int{2}, padSame: true, bias: true},
	{xDims: []int{2, 9, 9, 1}, channels: 3, kernel: []int{5}, strides: []int{4}, padding: []int{3}, bias: true},
}

// TestConvolutionMatchesGoMLX compares the forward pass with GoMLX's layers.Convolution (same variables,
// reused) or, for explicit padding, with graph.Convolve.
func TestConvolutionMatchesGoMLX(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			x := randTensor(rng, c.xDims...)
			ctx := newCtx(1)
			outs := context.MustExecOnceN(backend(), ctx, func(ctx *context.Context, x *graph.Node) []*graph.Node {
				ours := c.build(ctx.In("layer"), x)
				var theirs *graph.Node
				if c.padding == nil {
					b := layers.Convolution(ctx.Reuse().In("layer"), x).Channels(c.channels).
						KernelSizePerAxis(perAxis("", len(c.xDims)-2, c.kernel)...).UseBias(c.bias)
					if c.strides != nil {
						b.StridePerAxis(perAxis("", len(c.xDims)-2, c.strides)...)
					}
					if c.dilations != nil {
						b.DilationPerAxis(perAxis("", len(c.xDims)-2, c.dilations)...)
					}
					if c.padSame {
						b.PadSame()
					}
					theirs = b.Done()
				} else {
					k := ctx.InspectVariable("/layer/conv", "weights").ValueGraph(x.Graph())
					n := len(c.xDims) - 2
					pads := make([][2]int, n)
					for i, p := range perAxis("", n, c.padding) {
						pads[i] = [2]int{p, p}
					}
					theirs = graph.Convolve(x, k).StridePerAxis(perAxis("", n, c.strides)...).PaddingPerDim(pads).Done()
					if c.bias {
						b := ctx.InspectVariable("/layer/conv", "biases").ValueGraph(x.Graph())
						theirs = graph.Add(theirs, graph.Reshape(b, 1, 1, 1, c.channels))
					}
				}
				return []*graph.Node{ours, theirs}
			}, x)
			if !outs[0].Shape().Equal(outs[1].Shape()) {
				t.Fatalf("shapes differ: ours %s, GoMLX %s", outs[0].Shape(), outs[1].Shape())
			}
			assertClose(t, "forward", flat(outs[0]), flat(outs[1]), 1e-12, 1e-10)
			nVars := 0
			for v := range ctx.IterVariables() {
				if v.Trainable {
					nVars++
				}
			}
			want := 1
			if c.bias {
				want = 2
			}
			if nVars != want {
				t.Errorf("%d trainable variables, want %d", nVars, want)
			}
		})
	}
}

// TestConvolutionGradients checks first- and second-order gradients of the convolution (w.r.t. input and
// kernel) against finite differences, for every configuration.
func TestConvolutionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			win := c.window()
			inC := c.xDims[len(c.xDims)-1]
			x := randTensor(rng, c.xDims...)
			k := randTensor(rng, append(append([]int{}, win.kernel...), inC, c.channels)...)
			loss := func(in []*graph.Node) *graph.Node {
				y := convolve(in[0], in[1], win)
				return graph.ReduceAllSum(graph.Square(graph.Tanh(graph.MulScalar(y, 0.3))))
			}
			fdCheck(t, "first", loss, []*tensors.Tensor{x, k}, 10, 1e-6, 1e-5)
			fdCheck(t, "second", func(in []*graph.Node) *graph.Node {
				g := graph.Gradient(loss(in), in...)
				return graph.Add(graph.ReduceAllSum(graph.Square(g[1])), graph.ReduceAllSum(graph.Square(g[0])))
			}, []*tensors.Tensor{x, k}, 10, 1e-5, 1e-4)
		})
	}
}
