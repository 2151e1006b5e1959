package models

import (
	"fmt"

	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// FCNetConfig configures FCNet, the paper's fully connected network for MNIST (784-1000-10).
type FCNetConfig struct {
	// Hidden are the widths of the hidden layers (default [1000]).
	Hidden []int
	// NumClasses is the number of outputs (default 10).
	NumClasses int
}

// DefaultFCNetConfig returns the paper's FCNet: one hidden layer of 1000 ReLU units, 10 classes.
func DefaultFCNetConfig() FCNetConfig { return FCNetConfig{Hidden: []int{1000}, NumClasses: 10} }

// ModelFn builds the network: the input is flattened to [batch, features]; each hidden layer is a
// biolayers.Dense (scope "hidden_<i>") followed by ReLU; the output layer (scope "output") gives the logits.
func (cfg FCNetConfig) ModelFn(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	x := floatInput(inputs[0])
	if x.Rank() != 2 {
		x = biolayers.Flatten(x)
	}
	classes := cfg.NumClasses
	if classes <= 0 {
		classes = 10
	}
	for i, h := range cfg.Hidden {
		x = activations.Relu(biolayers.Dense(ctx.In(fmt.Sprintf("hidden_%d", i)), x, true, h))
	}
	return []*graph.Node{biolayers.Dense(ctx.In("output"), x, true, classes)}
}

// FCNet is a train.ModelFn: spec may be an FCNetConfig (or pointer); otherwise DefaultFCNetConfig is used.
func FCNet(ctx *context.Context, spec any, inputs []*graph.Node) []*graph.Node {
	cfg := DefaultFCNetConfig()
	switch c := spec.(type) {
	case FCNetConfig:
		cfg = c
	case *FCNetConfig:
		cfg = *c
	}
	return cfg.ModelFn(ctx, spec, inputs)
}
