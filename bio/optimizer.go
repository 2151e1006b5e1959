package bio

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// gradientOptimizer is implemented by GoMLX's SGD and Adam: it applies given (possibly modified) gradients.
type gradientOptimizer interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// Optimizer wraps a GoMLX optimizer so that every training step runs the enabled gradient mechanisms on
// every converted layer before the wrapped optimizer's update — synaptic scaling adds its term to the
// gradient, fuzzy learning rates multiply it by the per-weight factors s, crystallization dampens s where
// the gradient is tiny relative to the weight or very large, volume-dependent learning rates multiply it by
// fresh factors (with factor_mode "update" the factors multiply the optimizer's update instead) — in the
// training graph, with the library's own seeded RNG state. The mechanisms that act after the update run in
// the function that Convert (or this wrapper, when the model is not converted) registers with
// train.AddPerStepUpdateGraphFn; see Convert.
//
// The wrapped optimizer must implement UpdateGraphWithGradients (GoMLX's SGD and Adam do), except with
// factor_mode "update" and none of scale_grad, crystallize and l1_reg, where any optimizers.Interface works.
func (c *Converter) Optimizer(opt optimizers.Interface) optimizers.Interface {
	return &bioOptimizer{plan: c.snapshot(), inner: opt}
}

type bioOptimizer struct {
	plan  *plan
	inner optimizers.Interface
}

// Clear implements optimizers.Interface: it clears the wrapped optimizer's variables (the bio state stays).
func (o *bioOptimizer) Clear(ctx *context.Context) error { return o.inner.Clear(ctx) }

// UpdateGraph implements optimizers.Interface: the gradient stages of every layer, then the wrapped update.
func (o *bioOptimizer) UpdateGraph(ctx *context.Context, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panicf("bio: the optimizer needs a scalar loss, got shape %s", loss.Shape())
	}
	s := o.plan.beginStep(ctx, g)
	s.prepare(ctx)
	inner, hasGrads := o.inner.(gradientOptimizer)
	if !hasGrads && o.plan.cfg.FactorMode != FactorsOnUpdate {
		panicf("bio: the wrapped optimizer %T does not implement UpdateGraphWithGradients, which factor_mode %q "+
			"needs: use GoMLX's SGD or Adam, or factor_mode \"update\"", o.inner, o.plan.cfg.FactorMode)
	}
	if !hasGrads {
		for _, ls := range s.layers {
			s.runGradientStages(ls) // factor stages only; a stage that needs gradients fails with its name
		}
		o.inner.UpdateGraph(ctx, g, loss)
		return
	}
	grads := s.transformGradients(ctx, ctx.BuildTrainableVariablesGradientsGraph(loss), s.runGradientStages)
	inner.UpdateGraphWithGradients(ctx, grads, loss.DType())
}
