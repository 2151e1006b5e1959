// Package models provides the networks of the paper's experiments (FCNet, AlexNetMini, CIFAR ResNet-(6n+2))
// as GoMLX model functions (train.ModelFn), built from package biolayers so that they train fast on the
// pure-Go backend and carry the bio-transformation hooks of package bio.
//
// Each model has a config struct with the paper's defaults (Default…Config) and a ModelFn method; the
// package-level functions FCNet, AlexNetMini and ResNet are ModelFns that use the config passed as spec
// (a config pointer, or value) or, when spec is anything else (e.g. nil), the defaults. train.Trainer uses
// spec as a map key, so pass a pointer (the configs hold slices and are not comparable), or pass
// cfg.ModelFn as the model function and nil as spec.
//
// Inputs: inputs[0] is either flat [batch, features] or an image batch [batch, H, W, C] (channels-last;
// [batch, H, W] gets C = 1). Flat inputs are flattened further for FCNet and, for the convolutional models,
// reshaped with the config's InputShape or, when unset, 784 → 28×28×1 (MNIST) and 3072 → 32×32×3 (CIFAR,
// pixels in H, W, C order). Non-float inputs are converted to float32. The output is [batch, NumClasses] logits.
package models

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/pkg/errors"
)

// floatInput converts non-float inputs to float32.
func floatInput(x *graph.Node) *graph.Node {
	if !x.DType().IsFloat() {
		return graph.ConvertDType(x, dtypes.Float32)
	}
	return x
}

// imageInput returns x as [batch, H, W, C]; inputShape ([H, W, C]) is used for flat inputs when set.
func imageInput(x *graph.Node, inputShape []int) *graph.Node {
	x = floatInput(x)
	dims := x.Shape().Dimensions
	switch x.Rank() {
	case 4:
		return x
	case 3:
		return graph.Reshape(x, dims[0], dims[1], dims[2], 1)
	case 2:
		if len(inputShape) == 3 {
			return graph.Reshape(x, dims[0], inputShape[0], inputShape[1], inputShape[2])
		}
		switch dims[1] {
		case 784:
			return graph.Reshape(x, dims[0], 28, 28, 1)
		case 3072:
			return graph.Reshape(x, dims[0], 32, 32, 3)
		}
		side := int(math.Round(math.Sqrt(float64(dims[1]))))
		if side*side == dims[1] {
			return graph.Reshape(x, dims[0], side, side, 1)
		}
	}
	panic(errors.Errorf("models: cannot interpret input %s as images: give [batch, H, W, C] or set InputShape", x.Shape()))
}

// scaled returns max(1, round(n·m)).
func scaled(n int, m float64) int {
	if m <= 0 {
		m = 1
	}
	v := int(math.Round(float64(n) * m))
	if v < 1 {
		v = 1
	}
	return v
}
