package biolayers

import (
	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/regularizers"
)

// ConvBuilder configures a convolution created by Convolution; finish with Done.
type ConvBuilder struct {
	ctx         *context.Context
	x           *graph.Node
	numSpatial  int
	channels    int
	kernel      []int
	strides     []int
	dilations   []int
	padSame     bool
	pads        [][2]int
	bias        bool
	newScope    bool
	regularizer regularizers.Regularizer
}

// Convolution prepares a 1-D, 2-D or 3-D (any number of spatial axes) convolution of x, a drop-in
// replacement for GoMLX's layers.Convolution that can be trained on the pure-Go backend.
//
// x is channels-last: [batch, spatial..., inputChannels]. The kernel variable is `<scope>/conv/weights`
// shaped [kernel..., inputChannels, outputChannels] and the bias `<scope>/conv/biases` shaped
// [outputChannels], exactly as layers.Convolution creates them (same context initializer), so checkpoints
// are interchangeable. Channels and KernelSize must be set; defaults: stride 1, dilation 1, no padding,
// with bias, regularizer from the context (regularizers.FromContext, applied to the kernel only).
//
// Implementation: the input windows are gathered ("im2col") with a single Gather into a
// [batch·outputPositions, kernelSize·inputChannels] matrix, multiplied by the reshaped kernel with FastMatMul;
// padding is a Gather with a constant 0/1 mask. All gradients (of any order) use ops supported by the Go backend.
// Memory: the gathered matrix holds prod(kernel) copies of every input element (and its gradient too).
//
// Bio hooks: the kernel is created with bio.LayerWeights (input-unit axis rank−2) and the output (after
// the bias) goes through bio.LayerOutput on the channel axis (the last), with the context scoped at "conv".
func Convolution(ctx *context.Context, x *graph.Node) *ConvBuilder {
	n := x.Rank() - 2
	if n < 1 {
		panicf("biolayers.Convolution: x must be shaped [batch, spatial..., channels], got %s", x.Shape())
	}
	c := &ConvBuilder{ctx: ctx, x: x, numSpatial: n, bias: true, newScope: true, regularizer: regularizers.FromContext(ctx)}
	return c.Strides(1).Dilations(1).NoPadding()
}

// perAxis expands one value to every spatial axis, or checks that one value per axis was given.
func perAxis(what string, n int, values []int) []int {
	if len(values) == 1 {
		out := make([]int, n)
		for i := range out {
			out[i] = values[0]
		}
		return out
	}
	if len(values) != n {
		panicf("%s: expected 1 or %d values (one per spatial axis), got %v", what, n, values)
	}
	return append([]int(nil), values...)
}

// Channels sets the number of output channels (required).
func (c *ConvBuilder) Channels(n int) *ConvBuilder {
	if n <= 0 {
		panicf("biolayers.Convolution: Channels must be > 0, got %d", n)
	}
	c.channels = n
	return c
}

// KernelSize sets the kernel size: one value for every spatial axis, or one value per axis (required).
func (c *ConvBuilder) KernelSize(sizes ...int) *ConvBuilder {
	c.kernel = perAxis("KernelSize", c.numSpatial, sizes)
	return c
}

// KernelSizePerAxis is an alias of KernelSize, for source compatibility with layers.Convolution.
func (c *ConvBuilder) KernelSizePerAxis(sizes ...int) *ConvBuilder { return c.KernelSize(sizes...) }

// Strides sets the strides: one value for every spatial axis, or one per axis. Default 1.
// Unlike layers.Convolution, strides and dilations may be combined.
func (c *ConvBuilder) Strides(strides ...int) *ConvBuilder {
	c.strides = perAxis("Strides", c.numSpatial, strides)
	return c
}

// StridePerAxis is an alias of Strides, for source compatibility with layers.Convolution.
func (c *ConvBuilder) StridePerAxis(strides ...int) *ConvBuilder { return c.Strides(strides...) }

// Dilations sets the kernel dilations: one value for every spatial axis, or one per axis. Default 1.
// The effective kernel size is (k−1)·d + 1.
func (c *ConvBuilder) Dilations(dilations ...int) *ConvBuilder {
	c.dilations = perAxis("Dilations", c.numSpatial, dilations)
	return c
}

// DilationPerAxis is an alias of Dilations, for source compatibility with layers.Convolution.
func (c *ConvBuilder) DilationPerAxis(dilations ...int) *ConvBuilder {
	return c.Dilations(dilations...)
}

// PadSame pads with zeros so that, with stride 1, the output has the input's spatial size; the padding is
// GoMLX's: ((k_eff−1)/2 before, k_eff/2 after) with k_eff = (k−1)·d + 1.
func (c *ConvBuilder) PadSame() *ConvBuilder {
	c.padSame, c.pads = true, nil
	return c
}

// NoPadding uses no padding ("valid" convolution). This is the default.
func (c *ConvBuilder) NoPadding() *ConvBuilder {
	c.padSame, c.pads = false, nil
	return c
}

// Padding sets explicit symmetric zero padding (as PyTorch's Conv padding=p): one value for every
// spatial axis, or one per axis.
func (c *ConvBuilder) Padding(pads ...int) *ConvBuilder {
	p := perAxis("Padding", c.numSpatial, pads)
	c.pads = make([][2]int, len(p))
	for i, v := range p {
		c.pads[i] = [2]int{v, v}
	}
	c.padSame = false
	return c
}

// PaddingPerAxis sets explicit zero padding (before, after) for each spatial axis.
func (c *ConvBuilder) PaddingPerAxis(pads [][2]int) *ConvBuilder {
	if len(pads) != c.numSpatial {
		panicf("PaddingPerAxis: expected %d pairs, got %v", c.numSpatial, pads)
	}
	c.pads, c.padSame = append([][2]int(nil), pads...), false
	return c
}

// UseBias sets whether a trainable bias is added. Default true.
func (c *ConvBuilder) UseBias(useBias bool) *ConvBuilder {
	c.bias = useBias
	return c
}

// CurrentScope creates the variables in the given context's scope instead of a "conv" sub-scope.
func (c *ConvBuilder) CurrentScope() *ConvBuilder {
	c.newScope = false
	return c
}

// Regularizer sets the regularizer of the kernel (default regularizers.FromContext; nil for none).
func (c *ConvBuilder) Regularizer(r regularizers.Regularizer) *ConvBuilder {
	c.regularizer = r
	return c
}

// Done creates the variables and returns the convolved x, shaped [batch, outputSpatial..., Channels].
func (c *ConvBuilder) Done() *graph.Node {
	if c.channels <= 0 || len(c.kernel) == 0 {
		panicf("biolayers.Convolution requires Channels and KernelSize")
	}
	ctx := c.ctx
	if c.newScope {
		ctx = ctx.In("conv")
	}
	x := c.x
	g := x.Graph()
	dtype := x.DType()
	dims := x.Shape().Dimensions
	batch, inC := dims[0], dims[x.Rank()-1]
	pads := c.pads
	if c.padSame {
		pads = samePaddings(c.kernel, c.dilations)
	} else if pads == nil {
		pads = make([][2]int, c.numSpatial)
	}
	win := newWindow(dims[1:x.Rank()-1], c.kernel, c.strides, c.dilations, pads)

	kDims := append(append([]int{}, c.kernel...), inC, c.channels)
	kVar := bio.LayerWeights(ctx, g, "weights", shapes.Make(dtype, kDims...), len(kDims)-2)
	if c.regularizer != nil {
		c.regularizer(ctx, g, kVar)
	}
	kernel := kVar.ValueGraph(g)

	y := convolve(x, kernel, win) // [batch·numOut, channels]
	if c.bias {
		bVar := ctx.VariableWithShape("biases", shapes.Make(dtype, c.channels))
		y = graph.Add(y, graph.Reshape(bVar.ValueGraph(g), 1, c.channels))
	}
	y = graph.Reshape(y, win.outputDims(batch, c.channels)...)
	return bio.LayerOutput(ctx, y, y.Rank()-1)
}

// convolve computes the convolution of x [batch, spatial..., inC] with kernel [window..., inC, outC]
// over the window win, returning [batch·numOut, outC] (spatial output positions flattened, row-major).
func convolve(x, kernel *graph.Node, win *window) *graph.Node {
	dims := x.Shape().Dimensions
	batch, inC := dims[0], dims[x.Rank()-1]
	outC := kernel.Shape().Dimensions[kernel.Rank()-1]
	numOut, numK := prod(win.out), prod(win.kernel)
	var cols *graph.Node
	if win.isIdentity() {
		cols = graph.Reshape(x, batch*numOut, inC)
	} else {
		xp, padded := padSpatial(x, win.pads, 0)
		patches := gatherPatches(xp, win.unpadded(padded)) // [batch, numOut, numK, inC]
		cols = graph.Reshape(patches, batch*numOut, numK*inC)
	}
	return FastMatMul(cols, graph.Reshape(kernel, numK*inC, outC))
}
