package bio

import (
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// gradientOptimizer is implemented by GoMLX's SGD and Adam: it applies given (possibly modified) gradients.
type gradientOptimizer interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// Optimizer wraps a GoMLX optimizer so that every training step, inside the training graph (one execution
// per step, with the library's own seeded RNG state), runs the enabled mechanisms on every converted layer:
//
//  1. synaptic scaling (scale_grad) adds its homeostatic term to the gradient;
//  2. fuzzy learning rates multiply it by the per-weight factors s;
//  3. crystallization dampens s where the (scaled) gradient is tiny relative to the weight or very large
//     (the dampened factors act from the next step on);
//  4. volume-dependent learning rates multiply it by fresh factors;
//  5. the wrapped optimizer applies the gradients — or, with factor_mode "update", the raw gradients, and
//     the factors of 2–4 then multiply its update (new − old weight) instead;
//  6. rejuvenation (every rejuvenation_period steps) replaces small weights and clears the wrapped
//     optimizer's state (e.g. Adam's moments) of the replaced entries;
//  7. Dale's principle projects the weights onto their input units' signs;
//  8. dynamic fuzzy factors (Temporal, Activity) are updated every fuzzy_lr_update_freq steps, and the
//     telemetry (see Converter.Metrics) is recorded.
//
// The paper's loop ran rejuvenation before the optimizer step; here it runs after it, so a replaced weight
// starts from its fresh value instead of fresh value plus the old weight's step. The wrapped optimizer must
// implement UpdateGraphWithGradients (GoMLX's SGD and Adam do), except with factor_mode "update" and
// synaptic scaling off, where any optimizers.Interface works.
func (c *Converter) Optimizer(opt optimizers.Interface) optimizers.Interface {
	return &bioOptimizer{conv: c, inner: opt}
}

type bioOptimizer struct {
	conv  *Converter
	inner optimizers.Interface
}

// Clear implements optimizers.Interface: it clears the wrapped optimizer's variables (the bio state stays).
func (o *bioOptimizer) Clear(ctx *context.Context) error { return o.inner.Clear(ctx) }

// layerStep is the per-layer work carried from before to after the wrapped optimizer's update.
type layerStep struct {
	m            *Module
	before       *Node // weights before the update
	updateFactor *Node // factors applied to the update (factor_mode "update"), or nil
	crystallized *Node // mask, or nil
	rng          *rngStream
}

// UpdateGraph implements optimizers.Interface.
func (o *bioOptimizer) UpdateGraph(ctx *context.Context, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panicf("bio: the optimizer needs a scalar loss, got shape %s", loss.Shape())
	}
	cfg := o.conv.GetConfig()
	restoreTrainableFlags(ctx) // a context loaded from a checkpoint has every variable trainable
	inner, hasGrads := o.inner.(gradientOptimizer)
	onUpdate := cfg.FactorMode == FactorsOnUpdate
	if !hasGrads && (!onUpdate || cfg.SynapticScaling || cfg.Crystallization) {
		panicf("bio: the wrapped optimizer %T does not implement UpdateGraphWithGradients, which factor_mode "+
			"%q, scale_grad and crystallize need (use GoMLX's SGD or Adam, or factor_mode \"update\" without "+
			"scale_grad and crystallize)", o.inner, cfg.FactorMode)
	}

	// The wrapped optimizer's gradients are in the order of ctx's trainable variables in use by g.
	var vars []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	index := make(map[*context.Variable]int, len(vars))
	for i, v := range vars {
		index[v] = i
	}
	var mods []*Module
	for _, m := range o.conv.Layers(ctx) {
		if _, ok := index[m.Weights]; ok {
			mods = append(mods, m)
		}
	}

	var grads []*Node
	if hasGrads {
		grads = ctx.BuildTrainableVariablesGradientsGraph(loss)
	}
	st := lookupState(ctx, g)
	steps := make([]*layerStep, len(mods))
	for li, m := range mods {
		w := m.Weights.ValueGraph(g)
		rng := m.newRNG(ctx, g)
		ls := &layerStep{m: m, before: w, rng: rng}
		steps[li] = ls
		var factor *Node
		mul := func(f *Node) {
			if factor == nil {
				factor = f
			} else {
				factor = Mul(factor, f)
			}
		}
		var grad *Node
		if hasGrads {
			grad = grads[index[m.Weights]]
		}
		if st != nil && st.activity[m.Scope] != nil && m.unitsShape().Size() == st.activity[m.Scope].Shape().Size() {
			if cfg.SynapticScaling && grad != nil {
				grad = m.ScaleGrad(ctx, grad) // uses the activity of previous steps
			}
			m.ObserveActivity(ctx, st.activity[m.Scope])
		}
		if cfg.FuzzyLearningRates || cfg.Crystallization {
			sv := m.FactorsVar(ctx)
			if cfg.FuzzyLearningRates && cfg.FuzzyLRDistribution == WeightAdaptive {
				ready := m.flagVar(ctx, "weight_adaptive_drawn")
				var drawn *Node
				rng.state, drawn = WeightAdaptiveFactors(rng.state, w, cfg.FuzzyLearningRateFactorNu, cfg.FuzzyLRMin, cfg.FuzzyLRMax)
				sv.SetValueGraph(Where(ready.ValueGraph(g), sv.ValueGraph(g), drawn))
				ready.SetValueGraph(Const(g, true))
			}
			mul(sv.ValueGraph(g))
			if cfg.Crystallization && grad != nil {
				probe := grad
				if !onUpdate {
					probe = Mul(grad, sv.ValueGraph(g))
				}
				ls.crystallized = m.Crystallize(ctx, probe)
			}
		}
		if cfg.VolumeDependentLR {
			mul(m.volumeFactors(rng, w))
		}
		if factor != nil {
			if onUpdate {
				ls.updateFactor = factor
			} else {
				grad = Mul(grad, ConvertDType(factor, grad.DType()))
			}
		}
		if grad != nil {
			grads[index[m.Weights]] = grad
		}
	}

	if hasGrads {
		inner.UpdateGraphWithGradients(ctx, grads, loss.DType())
	} else {
		o.inner.UpdateGraph(ctx, g, loss)
	}
	step := optimizers.GetGlobalStepVar(ctx).ValueGraph(g)
	everyN := func(n int) *Node {
		if n <= 1 {
			return Const(g, true)
		}
		return Equal(Mod(step, Scalar(g, step.DType(), n)), ScalarZero(g, step.DType()))
	}

	for _, ls := range steps {
		m, rng := ls.m, ls.rng
		w := m.Weights.ValueGraph(g)
		if ls.updateFactor != nil {
			w = Add(ls.before, Mul(ConvertDType(ls.updateFactor, w.DType()), Sub(w, ls.before)))
			m.Weights.SetValueGraph(w)
		}
		var rejuvenated *Node
		if cfg.Rejuvenation {
			var fresh, mask *Node
			rng.state, fresh, mask = RejuvenationDraw(rng.state, w, cfg.RejuvenationParameterDre)
			mask = LogicalAnd(mask, BroadcastToShape(everyN(cfg.RejuvenationPeriod), mask.Shape()))
			m.Weights.SetValueGraph(Where(mask, fresh, w))
			m.ResetOptimizerState(ctx, g, mask)
			rejuvenated = mask
		}
		if cfg.ApplyDalesPrinciple {
			m.EnforceDalesPrinciple(ctx, g)
		}
		if cfg.FuzzyLearningRates && cfg.FuzzyLRDynamic &&
			(cfg.FuzzyLRDistribution == Temporal || cfg.FuzzyLRDistribution == Activity) {
			sv := m.FactorsVar(ctx)
			s := sv.ValueGraph(g)
			var next *Node
			if cfg.FuzzyLRDistribution == Temporal {
				next = TemporalDecay(s, cfg.FuzzyLRDecay)
			} else {
				a := m.ActivityVar(ctx).ValueGraph(g)
				rng.state, next = ActivityFactors(rng.state, m.Weights.ValueGraph(g), Max(a, ZerosLike(a)), m.OutputAxes,
					cfg.FuzzyLearningRateFactorNu, cfg.FuzzyLRMin, cfg.FuzzyLRMax)
			}
			sv.SetValueGraph(Where(everyN(cfg.FuzzyLRUpdateFreq), next, s))
		}
		o.conv.recordTelemetry(ctx, g, m, cfg, rejuvenated, ls.crystallized)
		rng.save()
	}
}

// ResetOptimizerState clears, at the masked entries, the optimizer's per-weight state of the layer: the
// non-trainable variables with the kernel's shape, named "weights_…", in the scope "/<optimizer scope><layer
// scope>" (GoMLX's Adam keeps "/AdamOptimizer<layer scope>/weights_1st_moment" and "_2nd_moment"), so that a
// re-initialised weight does not inherit the momentum of the one it replaced.
func (m *Module) ResetOptimizerState(ctx *context.Context, g *Graph, mask *Node) {
	for v := range ctx.IterVariables() {
		if v.Trainable || v == m.Weights || !strings.HasPrefix(v.Name(), m.Weights.Name()+"_") ||
			stripFirstScope(v.Scope()) != m.Scope || strings.HasPrefix(v.Scope(), StateScope+"/") ||
			!sameDims(v.Shape().Dimensions, m.Weights.Shape().Dimensions) || !v.HasValue() && !v.InUseByGraph(g) {
			continue
		}
		val := v.ValueGraph(g)
		v.SetValueGraph(Where(mask, ZerosLike(val), val))
	}
}

// stripFirstScope removes the first element of an absolute scope: "/AdamOptimizer/model/dense" → "/model/dense".
func stripFirstScope(scope string) string {
	if i := strings.Index(strings.TrimPrefix(scope, "/"), "/"); i >= 0 {
		return scope[i+1:]
	}
	return ""
}

func sameDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// RestoreTrainableFlags marks as non-trainable the variables that GoMLX and this library keep as state —
// everything under StateScope, the RNG state "#rngState", "global_step", the learning rate and optimizer
// scopes (Adam's moments) and batch-normalisation statistics — after loading a checkpoint, which does not
// store the trainable flag (so every variable comes back trainable, and Adam would then "train" the RNG
// state). The bio optimizer also does this at the start of every graph it builds.
func RestoreTrainableFlags(ctx *context.Context) error {
	restoreTrainableFlags(ctx)
	return nil
}

func restoreTrainableFlags(ctx *context.Context) {
	for v := range ctx.IterVariables() {
		if v.Trainable && isStateVariable(v.Scope(), v.Name()) {
			v.SetTrainable(false)
		}
	}
}

// isStateVariable recognises non-trainable variables by GoMLX's and this library's naming conventions:
// exact names and scopes, so that no user layer is frozen by accident.
func isStateVariable(scope, name string) bool {
	first := strings.SplitN(strings.TrimPrefix(scope, "/"), "/", 2)[0]
	last := scope[strings.LastIndex(scope, "/")+1:]
	switch {
	case scope == StateScope || strings.HasPrefix(scope, StateScope+"/"):
		return true
	case name == context.RNGStateVariableName || name == optimizers.GlobalStepVariableName:
		return true
	case first == optimizers.Scope || strings.HasSuffix(first, "Optimizer"): // learning rate; Adam's moments and step
		return true
	case last == "batch_normalization":
		return name == "mean" || name == "variance" || name == "avg_weight"
	}
	return false
}
