package biolayers

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// PoolBuilder configures a max or average pooling created by MaxPool or AvgPool; finish with Done.
type PoolBuilder struct {
	x          *graph.Node
	isMax      bool
	numSpatial int
	window     []int
	strides    []int
	padSame    bool
	pads       [][2]int
}

// MaxPool prepares a max pooling of x, channels-last [batch, spatial..., channels], trainable on the Go
// backend (GoMLX's MaxPool gradient needs the missing op SelectAndScatterMax).
//
// Set the window with Window (required). Defaults as GoMLX's graph.MaxPool: strides equal to the window
// (or 1 with PadSame), no padding. Padding elements never win the max ("same" max pooling ignores them).
// Gradient: the adjoint of an output goes to every input element of its window equal to the maximum (as
// GoMLX's ReduceMax gradient does: ties each receive the full adjoint).
func MaxPool(x *graph.Node) *PoolBuilder { return newPool(x, true) }

// AvgPool prepares an average (mean) pooling of x, channels-last [batch, spatial..., channels], with
// the same options as MaxPool. With padding, each output is the mean over the real (non-padding)
// elements of its window, as GoMLX's MeanPool does.
func AvgPool(x *graph.Node) *PoolBuilder { return newPool(x, false) }

func newPool(x *graph.Node, isMax bool) *PoolBuilder {
	n := x.Rank() - 2
	if n < 1 {
		panicf("biolayers pooling: x must be shaped [batch, spatial..., channels], got %s", x.Shape())
	}
	return &PoolBuilder{x: x, isMax: isMax, numSpatial: n}
}

// Window sets the pooling window: one size for every spatial axis, or one per axis (required).
func (p *PoolBuilder) Window(sizes ...int) *PoolBuilder {
	p.window = perAxis("Window", p.numSpatial, sizes)
	return p
}

// Strides sets the strides: one value for every spatial axis, or one per axis.
// Default: the window size, or 1 when PadSame is used.
func (p *PoolBuilder) Strides(strides ...int) *PoolBuilder {
	p.strides = perAxis("Strides", p.numSpatial, strides)
	return p
}

// PadSame pads so that, with stride 1, the output has the input's spatial size: (w−1)/2 before, w/2 after.
func (p *PoolBuilder) PadSame() *PoolBuilder {
	p.padSame, p.pads = true, nil
	return p
}

// NoPadding uses no padding ("valid" pooling). This is the default.
func (p *PoolBuilder) NoPadding() *PoolBuilder {
	p.padSame, p.pads = false, nil
	return p
}

// Padding sets explicit symmetric padding (as PyTorch's padding=p): one value for every axis, or one per axis.
func (p *PoolBuilder) Padding(pads ...int) *PoolBuilder {
	v := perAxis("Padding", p.numSpatial, pads)
	p.pads = make([][2]int, len(v))
	for i, e := range v {
		p.pads[i] = [2]int{e, e}
	}
	p.padSame = false
	return p
}

// Done returns the pooled x, shaped [batch, outputSpatial..., channels].
func (p *PoolBuilder) Done() *graph.Node {
	if len(p.window) == 0 {
		panicf("biolayers pooling requires Window")
	}
	x := p.x
	g := x.Graph()
	dims := x.Shape().Dimensions
	batch, channels := dims[0], dims[x.Rank()-1]
	strides := p.strides
	if strides == nil {
		if p.padSame {
			strides = perAxis("Strides", p.numSpatial, []int{1})
		} else {
			strides = p.window
		}
	}
	ones := perAxis("Dilations", p.numSpatial, []int{1})
	pads := p.pads
	if p.padSame {
		pads = samePaddings(p.window, ones)
	} else if pads == nil {
		pads = make([][2]int, p.numSpatial)
	}
	win := newWindow(dims[1:x.Rank()-1], p.window, strides, ones, pads)

	if win.isTiling() {
		// Reshape [batch, o₁, w₁, o₂, w₂, ..., channels] and reduce the window axes.
		rdims := []int{batch}
		var axes []int
		for i := range win.out {
			rdims = append(rdims, win.out[i], win.kernel[i])
			axes = append(axes, 2+2*i)
		}
		rdims = append(rdims, channels)
		r := graph.Reshape(x, rdims...)
		if p.isMax {
			return graph.ReduceMax(r, axes...)
		}
		return graph.DivScalar(graph.ReduceSum(r, axes...), float64(prod(win.kernel)))
	}

	numK := prod(win.kernel)
	fill := 0.0
	if p.isMax {
		fill = -math.MaxFloat64
		if x.DType().Size() < 8 {
			fill = -math.MaxFloat32
		}
	}
	xp, padded := padSpatial(x, win.pads, fill)
	patches := gatherPatches(xp, win.unpadded(padded)) // [batch, numOut, numK, channels]
	var y *graph.Node
	if p.isMax {
		y = graph.ReduceMax(patches, 2)
	} else {
		y = graph.ReduceSum(patches, 2)
		padding := false
		for _, pd := range win.pads {
			padding = padding || pd != [2]int{0, 0}
		}
		if padding {
			// Mean over the real elements: divide by the count of non-padding elements of each window.
			_, maskData, _ := win.indices(1)
			inv := make([]float64, len(maskData)/numK)
			for i, m := range maskData {
				inv[i/numK] += m
			}
			for i := range inv {
				inv[i] = 1 / inv[i]
			}
			y = graph.Mul(y, graph.ConvertDType(graph.Const(g, tensors.FromFlatDataAndDimensions(inv, 1, len(inv), 1)), x.DType()))
		} else {
			y = graph.DivScalar(y, float64(numK))
		}
	}
	return graph.Reshape(y, win.outputDims(batch, channels)...)
}

// GlobalAvgPool averages x [batch, spatial..., channels] over its spatial axes, returning [batch, channels].
func GlobalAvgPool(x *graph.Node) *graph.Node {
	if x.Rank() < 3 {
		panicf("GlobalAvgPool: x must be shaped [batch, spatial..., channels], got %s", x.Shape())
	}
	axes := make([]int, 0, x.Rank()-2)
	for a := 1; a < x.Rank()-1; a++ {
		axes = append(axes, a)
	}
	return graph.ReduceMean(x, axes...)
}

// Flatten reshapes x [batch, ...] to [batch, prod(...)].
func Flatten(x *graph.Node) *graph.Node {
	if x.Rank() < 1 {
		panicf("Flatten: x must have a batch axis, got %s", x.Shape())
	}
	return graph.Reshape(x, x.Shape().Dimensions[0], -1)
}

// Relu6 returns min(max(x, 0), 6), the activation of AlexNetMini (PyTorch's ReLU6).
func Relu6(x *graph.Node) *graph.Node {
	return graph.MinScalar(graph.MaxScalar(x, 0.0), 6.0)
}
