package bio

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Model-level counterparts of the Module methods, applied to every converted layer — what calling the
// function on the reference's converted model does. The gradient mechanisms take and return the gradients
// of ctx's trainable variables in use by the graph, in the order ctx.BuildTrainableVariablesGradientsGraph
// returns them, for custom training steps; the Optimizer wrapper does all of this for train.Trainer users.
// The weight mechanisms run as a small graph executed once, between training steps.

// layerGrads pairs the converted layers in use by g with the index of their gradient.
func (c *Converter) layerGrads(ctx *context.Context, g *Graph, grads []*Node) (map[*Module]int, error) {
	idx := map[*context.Variable]int{}
	i := 0
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			idx[v] = i
			i++
		}
	}
	if i != len(grads) {
		return nil, fmt.Errorf("bio: got %d gradients for %d trainable variables in use by the graph: pass the "+
			"result of ctx.BuildTrainableVariablesGradientsGraph", len(grads), i)
	}
	out := map[*Module]int{}
	for _, m := range c.Layers(ctx) {
		if k, ok := idx[m.Weights]; ok {
			out[m] = k
		}
	}
	return out, nil
}

func (c *Converter) mapGrads(ctx *context.Context, g *Graph, grads []*Node, fn func(m *Module, grad *Node) *Node) []*Node {
	lg, err := c.layerGrads(ctx, g, grads)
	if err != nil {
		panic(err)
	}
	out := append([]*Node(nil), grads...)
	for m, k := range lg {
		out[k] = fn(m, out[k])
	}
	return out
}

// FuzzyLearningRates multiplies every converted layer's gradient by its fuzzy factors.
func (c *Converter) FuzzyLearningRates(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.mapGrads(ctx, g, grads, func(m *Module, grad *Node) *Node { return m.FuzzyLearningRates(ctx, grad) })
}

// VolumeDependentLR multiplies every converted layer's gradient by fresh volume-dependent factors.
func (c *Converter) VolumeDependentLR(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.mapGrads(ctx, g, grads, func(m *Module, grad *Node) *Node { return m.VolumeDependentLR(ctx, grad) })
}

// ScaleGrad adds the synaptic-scaling term to every converted layer's gradient.
func (c *Converter) ScaleGrad(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.mapGrads(ctx, g, grads, func(m *Module, grad *Node) *Node { return m.ScaleGrad(ctx, grad) })
}

// Crystallize dampens the factors of every converted layer from its gradient; the gradients are returned
// unchanged (the dampened factors act through FuzzyLearningRates).
func (c *Converter) Crystallize(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.mapGrads(ctx, g, grads, func(m *Module, grad *Node) *Node {
		m.Crystallize(ctx, grad)
		return grad
	})
}

// L1Reg returns Σ|W| over the converted layers in use by g (differentiable), or nil if there are none.
func (c *Converter) L1Reg(ctx *context.Context, g *Graph) *Node {
	var ws []*Node
	for _, m := range c.Layers(ctx) {
		if m.Weights.InUseByGraph(g) {
			ws = append(ws, m.Weights.ValueGraph(g))
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return L1Sum(ws...)
}

// runOnLayers executes fn for every converted layer in one graph and stores the changed variables.
func (c *Converter) runOnLayers(backend backends.Backend, ctx *context.Context, what string, fn func(ctx *context.Context, g *Graph, m *Module)) error {
	mods := c.Layers(ctx)
	if len(mods) == 0 {
		return fmt.Errorf("bio: %s: the context has no converted layers (variables \"weights\" in scopes ending in /dense or /conv)", what)
	}
	for _, m := range mods {
		if !m.Weights.HasValue() {
			return fmt.Errorf("bio: %s: layer %q has no value yet: initialise the variables first (run a training step "+
				"or ctx.InitializeVariables)", what, m.Scope)
		}
	}
	exec, err := context.NewExec(backend, ctx.Checked(false), func(ctx *context.Context, g *Graph) *Node {
		for _, m := range mods {
			fn(ctx, g, m)
		}
		return ScalarZero(g, mods[0].Weights.DType())
	})
	if err != nil {
		return fmt.Errorf("bio: %s: %w", what, err)
	}
	defer exec.Finalize()
	if _, err := exec.Exec(); err != nil {
		return fmt.Errorf("bio: %s: %w", what, err)
	}
	return nil
}

// RejuvenateWeights applies rejuvenation to every converted layer now, and clears the optimizer's state of
// the replaced weights. Use it instead of the optimizer's per-step rejuvenation (rejuvenate_weights false in
// the config) to rejuvenate every N steps between training steps, at no cost on the other steps:
//
//	train.EveryNSteps(loop, 100, "rejuvenation", 0, func(*train.Loop, []*tensors.Tensor) error {
//		return conv.RejuvenateWeights(backend, ctx)
//	})
func (c *Converter) RejuvenateWeights(backend backends.Backend, ctx *context.Context) error {
	return c.runOnLayers(backend, ctx, "rejuvenate_weights", func(ctx *context.Context, g *Graph, m *Module) {
		m.ResetOptimizerState(ctx, g, m.RejuvenateWeights(ctx, g))
	})
}

// EnforceDalesPrinciple projects every converted layer's weights onto its input units' signs now.
func (c *Converter) EnforceDalesPrinciple(backend backends.Backend, ctx *context.Context) error {
	return c.runOnLayers(backend, ctx, "enforce_dales_principle", func(ctx *context.Context, g *Graph, m *Module) {
		m.EnforceDalesPrinciple(ctx, g)
	})
}

// DalianNetworkInitialization sets every converted layer's weights to |W| ⊙ sign now (once, before training,
// for layers that were not built by biolayers under a converted model).
func (c *Converter) DalianNetworkInitialization(backend backends.Backend, ctx *context.Context) error {
	return c.runOnLayers(backend, ctx, "dalian_network_initialization", func(ctx *context.Context, g *Graph, m *Module) {
		m.DalianNetworkInitialization(ctx, g)
	})
}
