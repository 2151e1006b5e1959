package biolayers

import (
	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/regularizers"
)

// Dense adds a dense linear layer, a drop-in replacement for GoMLX's layers.Dense: same signature, same
// variables (`<scope>/dense/weights` shaped [in, outputDims...] and, if useBias, `<scope>/dense/biases`
// shaped [outputDims...]), same result, but with an explicit gradient (see FastMatMul) that trains ~10×
// faster on the pure-Go backend and supports higher-order gradients.
//
// x is shaped [<batch dims...>, in] (any rank ≥ 1); the result is shaped [<batch dims...>, outputDims...].
// Regularizers configured in the context (regularizers.FromContext) are applied to the weights, not to the
// biases, as layers.Dense does.
//
// Bio hooks: the kernel is created with bio.LayerWeights (input-unit axis 0) and the output (after the bias,
// before any activation the caller applies) goes through bio.LayerOutput on its last axis, both with the
// context scoped at "dense". With a multi-dimensional outputDims the output units span several axes: the
// hook is then given the flattened output [<batch dims...>, prod(outputDims)] and the result reshaped back.
func Dense(ctx *context.Context, x *graph.Node, useBias bool, outputDims ...int) *graph.Node {
	g := x.Graph()
	ctx = ctx.In("dense")
	if x.Rank() == 0 {
		panicf("biolayers.Dense: input needs rank >= 1, got %s", x.Shape())
	}
	if len(outputDims) == 0 {
		panicf("biolayers.Dense: at least one output dimension must be given")
	}
	dtype := x.DType()
	inDim := x.Shape().Dimensions[x.Rank()-1]
	outSize := 1
	for _, d := range outputDims {
		outSize *= d
	}
	batchDims := x.Shape().Dimensions[:x.Rank()-1]
	batchSize := 1
	for _, d := range batchDims {
		batchSize *= d
	}

	wDims := append([]int{inDim}, outputDims...)
	wVar := bio.LayerWeights(ctx, g, "weights", shapes.Make(dtype, wDims...), 0)
	if reg := regularizers.FromContext(ctx); reg != nil {
		reg(ctx, g, wVar)
	}
	w := wVar.ValueGraph(g)

	y := FastMatMul(graph.Reshape(x, batchSize, inDim), graph.Reshape(w, inDim, outSize)) // [batch, outSize]
	if useBias {
		bVar := ctx.VariableWithShape("biases", shapes.Make(dtype, outputDims...))
		y = graph.Add(y, graph.Reshape(bVar.ValueGraph(g), 1, outSize))
	}
	y = graph.Reshape(y, append(append([]int{}, batchDims...), outSize)...)
	y = bio.LayerOutput(ctx, y, y.Rank()-1)
	return graph.Reshape(y, append(append([]int{}, batchDims...), outputDims...)...)
}
