package bio

// The two hooks through which a layer takes part in the bio step. The layers of package biolayers call
// them; a layer of your own can too.

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// LayerWeights creates (or reuses) the kernel variable `name` of a layer in ctx, which must already be
// scoped to the layer (e.g. ctx.In("dense")). inputAxis is the kernel axis of the presynaptic (input)
// units: 0 for Dense [in, out...], rank−2 for convolutions [k..., in, out].
//
// In a model converted (Converter.Convert) with apply_dales_principle, the variable's initial value is
// |W₀| ⊙ sign, with one ±1 sign per input unit (Dale's initialisation), W₀ drawn by GoMLX's default
// initializer; the signs are the ones the per-step projection then enforces. Otherwise it is exactly
// ctx.VariableWithShape(name, shape).
func LayerWeights(ctx *context.Context, g *Graph, name string, shape shapes.Shape, inputAxis int) *context.Variable {
	s := lookupStep(ctx, g)
	if s == nil || !s.plan.cfg.ApplyDalesPrinciple || !s.plan.selected(ctx.Scope()) {
		return ctx.VariableWithShape(name, shape)
	}
	base := context.DefaultInitializer(ctx)
	seed := seedFor(s.plan.cfg.Seed, ctx.Scope(), "dale")
	init := func(g *Graph, shape shapes.Shape) *Node {
		_, sign := daleSigns(RNGStateFromSeedForGraph(g, seed), shape, inputAxis)
		return daleInit(base(g, shape), sign)
	}
	return ctx.WithInitializer(init).VariableWithShape(name, shape)
}

// LayerOutput is called by a layer with its output y (after the bias, before the caller's activation),
// whose output units lie on featureAxis, in ctx scoped to the layer. In a converted model it
//   - records the batch mean of |y| per unit, the activity that synaptic scaling and the Activity
//     distribution use;
//   - applies weight splitting when Γ = weight_splitting_Gamma > 1 (see splitting.go for the classifier
//     rule; layers marked with SkipWeightSplitting are not split).
//
// Outside a converted model it returns y unchanged.
func LayerOutput(ctx *context.Context, y *Node, featureAxis int) *Node {
	s := lookupStep(ctx, y.Graph())
	scope := ctx.Scope()
	if s == nil {
		return y
	}
	if !s.plan.selected(scope) { // not converted, but it may be the classifier: it takes part in that rule
		s.reports = append(s.reports, report{scope: scope, unsplit: y, returned: y})
		return y
	}
	if featureAxis < 0 {
		featureAxis += y.Rank()
	}
	var axes []int
	for a := 0; a < y.Rank(); a++ {
		if a != featureAxis {
			axes = append(axes, a)
		}
	}
	act := absolute(StopGradient(y))
	if len(axes) > 0 {
		act = ReduceMean(act, axes...)
	}
	s.activity[scope] = act // computed only if a mechanism uses it: backends skip unused nodes
	return s.splitLayerOutput(scope, y, featureAxis)
}
