package bio

// Model-level counterparts of the Layer methods, applied to every converted layer — what calling the
// method on the reference's converted model does. They run the same stages as the optimizer wrapper and
// the after-update function, so a custom training step gives the results train.Trainer gives.
//
// The gradient mechanisms (L1RegGradient, ScaleGrad, FuzzyLearningRates, Crystallize, VolumeDependentLR, in
// the order the optimizer wrapper runs them) take and return the gradients of ctx's trainable variables in
// use by the graph, in the order ctx.BuildTrainableVariablesGradientsGraph returns them. In a training graph, call
// train.ExecPerStepUpdateGraphFn(ctx, g) after your optimizer's update, as train.Trainer does: it runs the
// after-update mechanisms (rejuvenation, Dale's projection, ...). The periods (rejuvenation_period,
// fuzzy_lr_update_freq) count GoMLX's global step, which GoMLX's optimizers advance: a hand-written update
// must advance it too (optimizers.IncrementGlobalStepGraph), or every step counts as step 0. The weight mechanisms
// (RejuvenateWeights, EnforceDalesPrinciple, DalianNetworkInitialization) run now, in a small graph
// executed once, between training steps.

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// runGradientStage runs the gradient part of st on every converted layer's gradient and returns the
// changed gradients (in gradient semantics: the stage's factors multiply the gradient, except with
// factor_mode "update", where they are kept for the after-update function).
func (p *plan) runGradientStage(ctx *context.Context, g *Graph, grads []*Node, st stage) []*Node {
	s := p.beginStep(ctx, g)
	s.prepare(ctx)
	out := s.transformGradients(ctx, grads, func(ls *layerStep) {
		ls.runGradient(st)
		if ls.rng != nil {
			ls.rng.save()
		}
	})
	s.gradDone[st.key] = true
	return out
}

// runWeightStage executes the after-update part of st on every converted layer of ctx now, in one graph,
// and stores the changed variables.
func (p *plan) runWeightStage(backend backends.Backend, ctx *context.Context, st stage) error {
	layers := p.discoverLayers(ctx)
	if len(layers) == 0 {
		return fmt.Errorf("bio: %s: the context has no converted layers (variables \"weights\" in scopes "+
			"ending in /dense or /conv)", st.key)
	}
	for _, l := range layers {
		if !l.Weights.HasValue() {
			return fmt.Errorf("bio: %s: layer %q has no value yet: initialise the variables first (run a "+
				"training step, ctx.InitializeVariables or conv.CreateState)", st.key, l.Scope)
		}
	}
	exec, err := context.NewExec(backend, ctx.Checked(false), func(ctx *context.Context, g *Graph) *Node {
		root := ctx.InAbsPath(context.RootScope)
		for _, l := range layers {
			ls := &layerStep{Layer: l, ctx: root, g: g, w0: l.Weights.ValueGraph(g)}
			st.after(ls)
			if ls.rng != nil {
				ls.rng.save()
			}
		}
		return ScalarZero(g, layers[0].Weights.DType())
	})
	if err != nil {
		return fmt.Errorf("bio: %s: %w", st.key, err)
	}
	defer exec.Finalize()
	if _, err := exec.Exec(); err != nil {
		return fmt.Errorf("bio: %s: %w", st.key, err)
	}
	return nil
}
