package biolayers

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Subsample returns x[:, ::s₁, ::s₂, ..., :] for x channels-last [batch, spatial..., channels]: the
// elements at every strides-th position of each spatial axis, starting at 0 (as PyTorch's x[:, :, ::2, ::2]
// in the "option A" shortcut of CIFAR ResNets). strides has one value for every axis or one per axis.
// Implemented with Gather, so that its gradients (of any order) work on the Go backend (GoMLX's strided
// Slice gradient needs the missing op "Pad").
func Subsample(x *graph.Node, strides ...int) *graph.Node {
	n := x.Rank() - 2
	if n < 1 {
		panicf("Subsample: x must be shaped [batch, spatial..., channels], got %s", x.Shape())
	}
	s := perAxis("Subsample", n, strides)
	dims := x.Shape().Dimensions
	ones := perAxis("", n, []int{1})
	win := newWindow(dims[1:n+1], ones, s, ones, make([][2]int, n))
	if win.isIdentity() {
		return x
	}
	patches := gatherPatches(x, win) // [batch, numOut, 1, channels]
	return graph.Reshape(patches, win.outputDims(dims[0], dims[n+1])...)
}

// PadChannels adds before and after zero channels to the last axis of x: [..., C] → [..., before+C+after]
// (as PyTorch's F.pad on the channel axis in the "option A" ResNet shortcut). It multiplies by a constant
// 0/1 matrix with FastMatMul, avoiding Concatenate/Pad, whose gradients (of second order) need ops missing on
// the Go backend.
func PadChannels(x *graph.Node, before, after int) *graph.Node {
	if before < 0 || after < 0 {
		panicf("PadChannels: negative padding %d, %d", before, after)
	}
	if before == 0 && after == 0 {
		return x
	}
	dims := x.Shape().Dimensions
	c := dims[len(dims)-1]
	outC := before + c + after
	sel := make([]float64, c*outC)
	for i := 0; i < c; i++ {
		sel[i*outC+before+i] = 1
	}
	selNode := graph.ConvertDType(graph.Const(x.Graph(), tensors.FromFlatDataAndDimensions(sel, c, outC)), x.DType())
	y := FastMatMul(graph.Reshape(x, -1, c), selNode)
	outDims := append(append([]int{}, dims[:len(dims)-1]...), outC)
	return graph.Reshape(y, outDims...)
}
