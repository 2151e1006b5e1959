package bio

// Synaptic scaling (scale_grad), homeostatic plasticity — documented by the reference package but never
// implemented there. Each output unit j keeps an activity a_j, an exponential moving average (momentum
// synaptic_scaling_momentum) of the batch mean of |y_j|, observed from the layer's output (LayerOutput);
// every step G_ij ← G_ij − γ·(F_T − a_j)·W_ij·|W_ij| with γ = synaptic_scaling_gamma and the target F_T =
// synaptic_scaling_target (default: the layer mean of a). Units below target grow their weights, units above
// shrink them. The activity also drives the Activity distribution of the fuzzy factors (fuzzy.go).

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var scaleGradStage = stage{
	key:       "scale_grad",
	on:        func(c Config) bool { return c.ScaleGrad },
	needsGrad: true,
	grad: func(ls *layerStep) {
		ls.batchActivity("scale_grad") // fails early when the layer reports no output
		a := ls.activityVar(ls.ctx).ValueGraph(ls.g)
		observed := observedActivity(a)
		// The term's inputs are variables: left free, the parallel executor would compute it during the
		// backward pass, beside the matrix products (which use both cores), holding the broadcast deficit and
		// W·|W| at the step's peak — two kernel-sized buffers, the whole bound. It waits for the gradient
		// instead (the deficit through the layer's anchor, W·|W| through abs0): 9.9 MB of live buffers
		// instead of 15.2 on FCNet, and every mechanism together 1.3 ms faster a step.
		a = Add(a, ConvertDType(ls.anchor, a.DType()))
		ls.grad = synapticScalingTerm(ls.grad, ls.w0, ls.abs0(), a, observed, ls.OutputAxes,
			ls.cfg.SynapticScalingGamma, ls.cfg.SynapticScalingTarget)
	},
}

// observeActivityStage folds the step's batch activity into the running activity, for synaptic scaling and
// the Activity distribution.
var observeActivityStage = stage{
	key: "activity",
	on:  needsActivity,
	after: func(ls *layerStep) {
		ls.ObserveActivity(ls.ctx, ls.batchActivity(activityUser(ls.cfg)))
	},
}

// needsActivity tells whether a configuration uses the layers' activities.
func needsActivity(c Config) bool {
	return c.ScaleGrad || (c.FuzzyLearningRates && c.FuzzyLRDistribution == Activity)
}

// activityUser names the setting that needs the activities, for error messages.
func activityUser(c Config) string {
	if c.ScaleGrad {
		return "scale_grad"
	}
	return "fuzzy_lr_distribution " + string(Activity)
}

// batchActivity returns the batch activity the layer reported in this step (see LayerOutput), or fails
// naming the layer and what to do.
func (ls *layerStep) batchActivity(user string) *Node {
	a := ls.step.activity[ls.Scope]
	if a == nil {
		panicf("bio: %s needs the output of layer %q, which did not report it: build the layer with package "+
			"biolayers, or call bio.LayerOutput(ctx, y, featureAxis) on its output, in a model converted with "+
			"conv.Convert; or exclude the layer (conv.Exclude)", user, ls.Scope)
	}
	return a
}

// activityVar returns a_j, the running mean of |y_j| per output unit (−1 until the first observation).
func (l *Layer) activityVar(ctx *context.Context) *context.Variable {
	return l.stateVar(ctx, "activity", l.unitsShape(), func(g *Graph, shape shapes.Shape) *Node {
		return MulScalar(Ones(g, shape), -1)
	})
}

// ScaleGrad adds the synaptic-scaling term to the gradient (BioModule.scale_grad):
// G − γ·(F_T − a_j)·W·|W|, with the layer's current activity a. Before any activity was observed (a < 0) the
// gradient is returned unchanged.
func (l *Layer) ScaleGrad(ctx *context.Context, grad *Node) *Node {
	g := grad.Graph()
	a := l.activityVar(ctx).ValueGraph(g)
	w := l.Weights.ValueGraph(g)
	return synapticScalingTerm(grad, w, absolute(w), a, observedActivity(a), l.OutputAxes, l.cfg.SynapticScalingGamma,
		l.cfg.SynapticScalingTarget)
}

// observedActivity is 1 when the running activity a was observed (a ≥ 0), else 0.
func observedActivity(a *Node) *Node {
	minA := ReduceAllMin(a)
	return ConvertDType(GreaterOrEqual(minA, ZerosLike(minA)), a.DType())
}

// ObserveActivity updates the running activity with the batch mean |y| per unit (shape of the output units):
// a ← momentum·a + (1 − momentum)·batch, or a ← batch at the first observation.
func (l *Layer) ObserveActivity(ctx *context.Context, batch *Node) {
	g := batch.Graph()
	av := l.activityVar(ctx)
	a := av.ValueGraph(g)
	batch = ConvertDType(Reshape(StopGradient(batch), l.unitsShape().Dimensions...), a.DType())
	mom := l.cfg.SynapticScalingMomentum
	next := Add(MulScalar(a, mom), MulScalar(batch, 1-mom))
	av.SetValueGraph(Where(LessThan(a, ZerosLike(a)), batch, next))
}

// ScaleGrad adds the synaptic-scaling term to every converted layer's gradient, in a custom training step.
// The layers must report their outputs (see LayerOutput) in the same graph.
func (c *Converter) ScaleGrad(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.snapshot().runGradientStage(ctx, g, grads, scaleGradStage)
}

// synapticScalingTerm is the homeostatic gradient term: G ← G − γ·(F_T − a_j)·W_ij·|W_ij|, returned as the
// new gradient; absW is |W|. activity holds a_j with the shape of W's output axes; target < 0 uses the layer
// mean of a.
// observed, a scalar 1 or 0 (or nil for 1), switches the term on or off: before the first observation the
// gradient is returned unchanged (the factor acts on the small per-unit tensor, not on the kernel).
func synapticScalingTerm(grad, w, absW, activity, observed *Node, outAxes []int, gamma, target float64) *Node {
	var ft *Node
	if target < 0 {
		ft = ReduceAllMean(activity)
	} else {
		ft = Scalar(w.Graph(), activity.DType(), target)
	}
	deficit := Sub(ft, activity)
	if observed != nil {
		deficit = Mul(deficit, observed)
	}
	deficit = broadcastUnits(deficit, w.Shape(), outAxes)
	return Sub(grad, MulScalar(Mul(deficit, Mul(w, absW)), gamma))
}
