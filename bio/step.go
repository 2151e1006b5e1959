package bio

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// The bio step of one graph, and the protocol between its parts.
//
// A step is created by the first part of the library to run in a graph — the model wrapper (Convert), the
// optimizer wrapper (Optimizer) or a model-level function (Converter.FuzzyLearningRates, ...) — and kept
// in the graph parameter stepKey at the root scope. Who reads and writes what:
//
//   - LayerWeights reads the plan (Dale's initialisation);
//   - LayerOutput writes activity[scope] (the batch activity of the layer) and splits (weight splitting);
//   - Convert, once the model is built, applies the classifier rule to splits (see finishModel);
//   - the optimizer wrapper runs the gradient stages of every layer (runGradientStages) and marks them done;
//   - the function registered with train.AddPerStepUpdateGraphFn runs, after the optimizer's update, the
//     after-update stages of every layer (runAfterStages), and fails if a configured gradient mechanism
//     got no gradient;
//   - Metrics reads the masks the stages left in the layer steps.
//
// Each mechanism is one stage (its own file): a gradient part, run before the update, and/or an
// after-update part. The stages run in the order of the stages list.

// stepKey is the graph parameter (at the root scope) holding the *step of a graph.
const stepKey = "bio_step"

// stage is one mechanism's per-step work on one layer.
type stage struct {
	// key is the mechanism's switch (the reference's name), used in error messages.
	key string
	// on tells whether the stage runs under a configuration.
	on func(c Config) bool
	// grad transforms ls.grad or multiplies ls.factor, before the optimizer's update (nil: no gradient part).
	// needsGrad tells whether it reads ls.grad (else it only contributes factors).
	grad      func(ls *layerStep)
	needsGrad bool
	// after runs after the optimizer's update (nil: none).
	after func(ls *layerStep)
}

// stages lists every mechanism's stage in the order they run: L1's gradient joins the loss's, synaptic
// scaling changes the gradient, the fuzzy factors multiply it, crystallization probes it (as the
// reference's loop did, after the fuzzy factors), volume factors multiply it; after the update,
// factor_mode "update" rescales the step, rejuvenation replaces weights, Dale's principle projects them, the
// activities take in this step's observation, and dynamic factors update (Activity re-draws from the
// activities just observed).
var stages = []stage{l1Stage, scaleGradStage, fuzzyStage, crystallizeStage, volumeStage,
	updateModeStage, rejuvenateStage, daleStage, observeActivityStage, dynamicFactorsStage}

// step is the bio work of one graph (see the protocol above).
type step struct {
	plan     *plan
	g        *Graph
	training bool
	layers   []*layerStep // converted layers in use by the graph, in variable order (after prepare)
	prepared bool
	activity map[string]*Node // batch mean |y| per output unit, by layer scope (LayerOutput)
	reports  []report         // the layer outputs reported to LayerOutput, in order
	gradDone map[string]bool  // keys of the gradient stages that ran for every layer
	// sequential runs a layer's stages one after another, each waiting for the previous one's result
	// (Converter.LowMemory); else the parallel executor of GoMLX's Go backend runs them at once.
	sequential bool
	l1Added    bool // whether the L1 term was added to this graph's loss
}

// layerStep is one layer's part of a step: what its stages read and leave for each other.
type layerStep struct {
	*Layer
	step         *step
	ctx          *context.Context // root context
	g            *Graph
	w0           *Node // the weights before the update
	anchor       *Node // a scalar 0 the layer's next work takes as an input: see anchorOn and then
	absW0        *Node // |w0|, shared by the stages that need it
	absAnchor    *Node // the anchor absW0 waited for
	rng          *rngStream
	rngAnchor    *Node // the anchor the RNG state last waited for
	grad         *Node // the gradient being transformed (gradient stages)
	updateFactor *Node // factors for factor_mode "update", applied after the update
	rejuvenated  *Node // mask of replaced weights, or nil
	crystallized *Node // mask of crystallized weights, or nil
}

// LowMemory makes the training steps of what the converter makes from now on run each layer's stages one
// after another, each waiting for the result of the one before, instead of leaving the backend free to
// run them at once: a bio step then holds at most two kernel-sized buffers per layer more than the plain
// step, at the cost of some of the two-core parallelism of GoMLX's Go backend (see the README, "What the
// bio mechanisms cost": on FCNet 784-1000-10 with the reference's loop, 13 MB of live buffers instead of
// 27, for 6 % more time a step). Results are bit-identical either way. It returns the converter.
func (c *Converter) LowMemory() *Converter {
	return c.edit(func(p *plan) { p.lowMemory = true })
}

// lookupStep returns the step of g, or nil.
func lookupStep(ctx *context.Context, g *Graph) *step {
	v, found := ctx.InAbsPath(context.RootScope).GetGraphParam(g, stepKey)
	if !found {
		return nil
	}
	s, _ := v.(*step)
	return s
}

// beginStep returns the step of g, creating it (and, in training graphs, registering its after-update
// function) if it does not exist yet. Parts made from different converter configurations cannot share a
// graph.
func (p *plan) beginStep(ctx *context.Context, g *Graph) *step {
	if s := lookupStep(ctx, g); s != nil {
		if !s.plan.equal(p) {
			panicf("bio: the model, optimizer or functions of this graph were made from converters with different "+
				"configurations or layer selections (%s and %s): make them from one converter, after its "+
				"Include, Exclude, SkipWeightSplitting, ChannelsFirst, RecordTelemetry and LowMemory calls",
				s.plan.cfg, p.cfg)
		}
		return s
	}
	root := ctx.InAbsPath(context.RootScope)
	s := &step{plan: p, g: g, training: ctx.IsTraining(g), activity: map[string]*Node{}, gradDone: map[string]bool{},
		sequential: p.lowMemory}
	root.SetGraphParam(g, stepKey, s)
	if s.training {
		train.AddPerStepUpdateGraphFn(ctx.InAbsPath(StateScope), g, func(ctx *context.Context, g *Graph) {
			s.runAfterStages(ctx.InAbsPath(context.RootScope))
		})
	}
	return s
}

// prepare creates the layer steps of the converted layers in use by the graph, with their weights as they
// are before the optimizer's update. It runs once, after the model is built.
func (s *step) prepare(ctx *context.Context) {
	if s.prepared {
		return
	}
	s.prepared = true
	root := ctx.InAbsPath(context.RootScope)
	for _, l := range s.plan.discoverLayers(root) {
		if l.Weights.InUseByGraph(s.g) {
			s.layers = append(s.layers, &layerStep{Layer: l, step: s, ctx: root, g: s.g, w0: l.Weights.ValueGraph(s.g)})
		}
	}
}

// anchorOn makes x's first element the anchor of the layer's step work, unless it has one: a scalar 0
// that the step's work takes as an input (at the cost of nothing: |w0| is max(w0, anchor − w0), and the
// RNG state is offset by it). Work that depends only on w0 and the RNG state could otherwise run at the
// very start of the step, and the parallel executor of GoMLX's Go backend runs it then, holding its
// buffers through the forward and backward passes; anchored on the gradient it runs when it is needed.
func (ls *layerStep) anchorOn(x *Node) {
	if ls.anchor != nil || x == nil {
		return
	}
	ls.anchor = zeroAfter(x, ls.w0.DType())
}

// then makes the layer's further work wait for x, when the step runs its stages one after another
// (Converter.LowMemory): the next stage's |w0| and random draws take their anchor from x, so they start
// when x is computed, and the buffers of two stages are not held at once.
func (ls *layerStep) then(x *Node) {
	if ls.step != nil && ls.step.sequential && x != nil {
		ls.anchor = zeroAfter(x, ls.w0.DType())
	}
}

// drawAfter makes the layer's next random draw wait for x, in either schedule: the RNG state is offset by a
// scalar zero taken from x.
func (ls *layerStep) drawAfter(x *Node) {
	ls.stream().waitFor(zeroAfter(x, ls.w0.DType()))
}

// abs0 returns |w0|, computed once per layer and anchor.
func (ls *layerStep) abs0() *Node {
	if ls.absW0 == nil || ls.absAnchor != ls.anchor {
		ls.absAnchor = ls.anchor
		if ls.anchor != nil {
			ls.absW0 = Max(ls.w0, Sub(ls.anchor, ls.w0))
		} else {
			ls.absW0 = absolute(ls.w0)
		}
	}
	return ls.absW0
}

// stream returns the layer's RNG stream for this step, created at first use; its next draw waits for the
// layer's anchor.
func (ls *layerStep) stream() *rngStream {
	if ls.rng == nil {
		ls.rng = ls.newRNG(ls.ctx, ls.g)
	}
	if ls.anchor != nil && ls.rngAnchor != ls.anchor {
		ls.rng.waitFor(ls.anchor)
		ls.rngAnchor = ls.anchor
	}
	return ls.rng
}

// mulFactor multiplies the gradient by per-weight factors f, or, with factor_mode "update", keeps them
// for the optimizer's update.
func (ls *layerStep) mulFactor(f *Node) {
	if ls.cfg.FactorMode == FactorsOnUpdate {
		if ls.updateFactor == nil {
			ls.updateFactor = f
		} else {
			ls.updateFactor = Mul(ls.updateFactor, f)
		}
		return
	}
	ls.grad = Mul(ls.grad, ConvertDType(f, ls.grad.DType()))
}

// runGradientStages runs every enabled gradient stage on the layer's gradient ls.grad (nil when the wrapped
// optimizer cannot take gradients: then only factor stages run, for factor_mode "update").
func (s *step) runGradientStages(ls *layerStep) {
	for _, st := range stages {
		if st.grad != nil && st.on(s.plan.cfg) {
			ls.runGradient(st)
			s.gradDone[st.key] = true
		}
	}
}

// runGradient runs the gradient part of st on the layer; the layer's further work waits for a gradient it
// changed (see then).
func (ls *layerStep) runGradient(st stage) {
	ls.anchorOn(ls.grad)
	if st.needsGrad && ls.grad == nil {
		panicf("bio: %s needs the gradients of layer %q: wrap an optimizer that implements "+
			"UpdateGraphWithGradients (GoMLX's SGD and Adam do)", st.key, ls.Scope)
	}
	before := ls.grad
	st.grad(ls)
	if ls.grad != before {
		ls.then(ls.grad)
	}
}

// runAfterStages runs, after the optimizer's update, every enabled after-update stage of every layer,
// records the telemetry and saves the RNG streams. It fails if a configured gradient mechanism got no
// gradient in this graph (the optimizer was not wrapped, and no model-level function ran it).
func (s *step) runAfterStages(ctx *context.Context) {
	s.prepare(ctx)
	for _, st := range stages {
		if st.grad != nil && st.on(s.plan.cfg) && !s.gradDone[st.key] && len(s.layers) > 0 {
			panicf("bio: %s is on (or needed by a mechanism that is), but no gradient reached it in this "+
				"training graph: wrap the optimizer with conv.Optimizer(opt), or call the converter's model-level "+
				"function in your training step, or switch it off", st.key)
		}
	}
	for _, ls := range s.layers {
		ls.anchorOn(ls.Weights.ValueGraph(ls.g)) // the updated weights, when no gradient anchored the layer
		ls.then(ls.Weights.ValueGraph(ls.g))
		for _, st := range stages {
			if st.after != nil && st.on(s.plan.cfg) {
				st.after(ls)
				ls.then(ls.Weights.ValueGraph(ls.g))
			}
		}
		if s.plan.telemetry {
			recordTelemetry(ls)
		}
		if ls.rng != nil {
			ls.rng.save()
		}
	}
}

// everyN is true at the steps whose global step is a multiple of n (always for n ≤ 1).
func everyN(ctx *context.Context, g *Graph, n int) *Node {
	if n <= 1 {
		return Const(g, true)
	}
	step := optimizers.GetGlobalStepVar(ctx).ValueGraph(g)
	return Equal(Mod(step, Scalar(g, step.DType(), n)), ScalarZero(g, step.DType()))
}

// everyNFactor is 1 at the steps whose global step is a multiple of n and 0 otherwise, in dtype: a scalar
// that switches a per-weight probability on and off at the cost of one multiplication.
func everyNFactor(ctx *context.Context, g *Graph, n int, dtype dtypes.DType) *Node {
	return ConvertDType(everyN(ctx, g, n), dtype)
}

// transformGradients returns a copy of grads — the gradients of ctx's trainable variables in use by the
// graph, in the order ctx.BuildTrainableVariablesGradientsGraph returns them — in which transform has
// changed the gradient of every converted layer (it reads and sets ls.grad).
func (s *step) transformGradients(ctx *context.Context, grads []*Node, transform func(ls *layerStep)) []*Node {
	index := map[*context.Variable]int{}
	for v := range ctx.InAbsPath(context.RootScope).IterVariables() {
		if v.Trainable && v.InUseByGraph(s.g) {
			index[v] = len(index)
		}
	}
	if len(index) != len(grads) {
		panic(fmt.Errorf("bio: got %d gradients for %d trainable variables in use by the graph: pass the "+
			"result of ctx.BuildTrainableVariablesGradientsGraph", len(grads), len(index)))
	}
	out := append([]*Node(nil), grads...)
	for _, ls := range s.layers {
		if i, ok := index[ls.Weights]; ok {
			ls.grad = out[i]
			transform(ls)
			out[i] = ls.grad
		}
	}
	return out
}

// updateModeStage applies, with factor_mode "update", the step's factors to the optimizer's update:
// W ← W₀ + factor ⊙ (W₁ − W₀), where W₀ and W₁ are the weights before and after the update.
var updateModeStage = stage{
	key: "factor_mode",
	on:  func(c Config) bool { return c.FactorMode == FactorsOnUpdate },
	after: func(ls *layerStep) {
		if ls.updateFactor == nil {
			return
		}
		w1 := ls.Weights.ValueGraph(ls.g)
		f := ConvertDType(ls.updateFactor, w1.DType())
		ls.Weights.SetValueGraph(Add(ls.w0, Mul(f, Sub(w1, ls.w0))))
	},
}
