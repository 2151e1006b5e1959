package bio

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// LayerWeights creates (or reuses) the kernel variable `name` of a layer in ctx, which must already be
// scoped to the layer (e.g. ctx.In("dense")). inputAxis is the kernel axis of the presynaptic (input)
// units: 0 for Dense [in, out...], rank−2 for convolutions [k..., in, out].
//
// When the model was converted (see Converter.Convert) with apply_dales_principle, the variable's initial
// value is |W₀| ⊙ sign, with one ±1 sign per input unit (Dale's initialisation), W₀ drawn by GoMLX's default
// initializer; the signs are the ones the optimizer then enforces (Module.SignVar). Otherwise it is exactly
// ctx.VariableWithShape(name, shape).
func LayerWeights(ctx *context.Context, g *Graph, name string, shape shapes.Shape, inputAxis int) *context.Variable {
	st := lookupState(ctx, g)
	if st == nil || !st.cfg.ApplyDalesPrinciple || !st.conv.selected(ctx.Scope()) {
		return ctx.VariableWithShape(name, shape)
	}
	base := context.DefaultInitializer(ctx)
	seed := seedFor(st.cfg.Seed, ctx.Scope(), "dale")
	init := func(g *Graph, shape shapes.Shape) *Node {
		_, sign := DaleSigns(RNGStateFromSeedForGraph(g, seed), shape, inputAxis)
		return DaleInit(base(g, shape), sign)
	}
	return ctx.WithInitializer(init).VariableWithShape(name, shape)
}

// LayerOutput is called by a layer with its output y (after the bias, before the caller's activation),
// whose output units lie on featureAxis, in ctx scoped to the layer. In a converted model it
//   - records the batch mean of |y| per unit, the activity that synaptic scaling and the Activity
//     distribution use;
//   - applies weight splitting when Γ = weight_splitting_Gamma > 1: y ← f(y), then groups of Γ consecutive
//     units are summed and the sum given to every unit of the group. The classifier (the model's last layer
//     to report its output) and layers marked with SkipWeightSplitting are not split. Γ must divide the
//     number of units: otherwise graph building fails with an error naming the layer.
//
// Outside a converted model it returns y unchanged.
func LayerOutput(ctx *context.Context, y *Node, featureAxis int) *Node {
	g := y.Graph()
	st := lookupState(ctx, g)
	if st == nil {
		return y
	}
	scope := ctx.Scope()
	st.order = append(st.order, scope)
	if st.tracing || !st.conv.selected(scope) {
		return y
	}
	if featureAxis < 0 {
		featureAxis += y.Rank()
	}
	cfg := st.cfg
	if cfg.SynapticScaling || (cfg.FuzzyLearningRates && cfg.FuzzyLRDistribution == Activity) {
		var axes []int
		for a := 0; a < y.Rank(); a++ {
			if a != featureAxis {
				axes = append(axes, a)
			}
		}
		act := Abs(StopGradient(y))
		if len(axes) > 0 {
			act = ReduceMean(act, axes...)
		}
		st.activity[scope] = act
	}
	gamma := cfg.WeightSplittingGamma
	if gamma <= 1 || scope == st.classifier || st.conv.skipsSplitting(scope) {
		return y
	}
	units := y.Shape().Dimensions[featureAxis]
	if units%gamma != 0 {
		panicf("bio: weight_splitting_Gamma = %d does not divide the %d output units of layer %q: "+
			"use a Γ that divides every split layer's output size, or mark the layer with SkipWeightSplitting",
			gamma, units, scope)
	}
	act, err := ActivationByName(cfg.WeightSplittingActivation)
	if err != nil {
		panic(err)
	}
	return SplitGroups(act(y), featureAxis, gamma)
}
