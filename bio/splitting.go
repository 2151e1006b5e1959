package bio

// Weight splitting (weight_splitting_Gamma = Γ > 1), multi-synaptic connectivity: a layer's output y (after
// the bias) becomes f(y) (f = weight_splitting_activation_function, default identity); then groups of Γ
// consecutive output units are summed and the sum is given to every unit of the group (view as
// [..., C/Γ, Γ], sum over Γ, repeat Γ times): the feature axis of dense layers (inputs of any rank), the
// channel axis of convolutions. It is applied by LayerOutput, in the layers of package biolayers.
//
// The classifier is never split. As the reference skips the last layer, the classifier is the last layer
// to report its output in the model function (LayerOutput), converted or not (a layer left out with
// Exclude reports too, unsplit). A layer's output is split when
// it reports, before it is known to be the last, so the model function must return the classifier's output
// as one of its outputs, unchanged or reshaped (as the models of package models and most classifiers do); the converted
// model function then returns it unsplit. When it does not (the model transforms its logits, e.g. with a
// softmax), graph building fails naming the layer, unless the layer is marked with SkipWeightSplitting. Γ
// must divide the number of units of every split layer except the classifier (an error names the layer).

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// report is one layer output reported to LayerOutput.
type report struct {
	scope             string
	unsplit, returned *Node // the layer's output, and what LayerOutput returned for it
	split             bool  // whether returned is the split output
	indivisible       error // Γ does not divide the units: an error unless the layer is the classifier
}

// splitLayerOutput applies weight splitting to the output y of the layer at scope, if the plan splits it,
// and records the report for the classifier rule.
func (s *step) splitLayerOutput(scope string, y *Node, featureAxis int) *Node {
	r := report{scope: scope, unsplit: y, returned: y}
	defer func() { s.reports = append(s.reports, r) }()
	cfg := s.plan.cfg
	gamma := cfg.WeightSplittingGamma
	if gamma <= 1 || matchesAny(scope, s.plan.skipSplit) {
		return y
	}
	if units := y.Shape().Dimensions[featureAxis]; units%gamma != 0 {
		r.indivisible = fmt.Errorf("bio: weight_splitting_Gamma = %d does not divide the %d output units of layer "+
			"%q: use a Γ that divides every split layer's output size, or mark the layer with "+
			"SkipWeightSplitting", gamma, units, scope)
		return y
	}
	act, err := ActivationByName(cfg.WeightSplittingActivation)
	if err != nil {
		panic(err)
	}
	r.returned, r.split = splitGroups(act(y), featureAxis, gamma), true
	return r.returned
}

// finishModel applies the classifier rule to the outputs of one call of the model function, given the
// reports made during that call.
func (s *step) finishModel(outputs []*Node, reports []report) []*Node {
	if len(reports) == 0 || s.plan.cfg.WeightSplittingGamma <= 1 {
		return outputs
	}
	last := reports[len(reports)-1]
	returned := false
	for i, out := range outputs {
		if unsplit := last.unsplitOutput(out); unsplit != nil {
			outputs[i], returned = unsplit, true
		}
	}
	if (last.split || last.indivisible != nil) && !returned {
		panicf("bio: weight splitting: %q, the last layer to report its output, is taken as the classifier and "+
			"must not be split, but the model does not return its output unchanged (or reshaped): return it, or mark it "+
			"with conv.SkipWeightSplitting(%q)", last.scope, last.scope)
	}
	for _, r := range reports[:len(reports)-1] {
		if r.indivisible != nil {
			panic(r.indivisible)
		}
	}
	return outputs
}

// unsplitOutput returns the unsplit version of a model output that is the layer's returned output, or a
// reshape of it; nil for other outputs.
func (r report) unsplitOutput(out *Node) *Node {
	node := out
	for node != r.returned && node.Type() == NodeTypeReshape {
		node = node.Inputs()[0]
	}
	switch {
	case node != r.returned:
		return nil
	case out == r.returned:
		return r.unsplit
	}
	return Reshape(r.unsplit, out.Shape().Dimensions...)
}

// splitGroups sums groups of Γ consecutive units along axis and gives the sum to every unit of the group
// (view as [..., C/Γ, Γ, ...], sum over Γ, repeat Γ times). The caller checks that Γ divides the axis.
func splitGroups(y *Node, axis, gamma int) *Node {
	dims := y.Shape().Dimensions
	c := dims[axis]
	grouped := make([]int, 0, len(dims)+1)
	grouped = append(grouped, dims[:axis]...)
	grouped = append(grouped, c/gamma, gamma)
	grouped = append(grouped, dims[axis+1:]...)
	sums := ReduceAndKeep(Reshape(y, grouped...), ReduceSum, axis+1)
	bcast := append([]int(nil), grouped...)
	return Reshape(BroadcastToDims(sums, bcast...), dims...)
}

// ActivationName is the name of a weight-splitting activation (Config.WeightSplittingActivation). Its
// UnmarshalText accepts the spellings a Python user may write and stores the canonical name, so it serves
// flag.TextVar: fs.TextVar((*bio.ActivationName)(&cfg.WeightSplittingActivation), ...).
type ActivationName string

// UnmarshalText implements encoding.TextUnmarshaler; see ActivationByName for the accepted names.
func (a *ActivationName) UnmarshalText(text []byte) error {
	canonical, ok := normalizeActivationName(string(text))
	if !ok {
		return cfgErr(cfgKeyActivation, string(text), "must be one of %s", cfgJoin(activationNames))
	}
	*a = ActivationName(canonical)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (a ActivationName) MarshalText() ([]byte, error) { return []byte(a), nil }

// activationNames are the accepted values of Config.WeightSplittingActivation, in canonical form.
var activationNames = []string{"identity", "relu", "relu6", "tanh", "sigmoid", "leaky_relu", "gelu", "silu", "elu"}

// activationAliases maps normalized alternative spellings to canonical names.
var activationAliases = map[string]string{"": "identity", "none": "identity", "linear": "identity",
	"leakyrelu": "leaky_relu", "swish": "silu"}

// normalizeActivationName lower-cases name and accepts the spellings a Python user may write: "ReLU",
// "torch.nn.ReLU()", "F.relu", "LeakyReLU()", "Identity()" (the reference's default) or "none".
func normalizeActivationName(name string) (string, bool) {
	s := cfgEnumName(strings.TrimSuffix(strings.TrimSpace(name), "()"))
	if alias, ok := activationAliases[s]; ok {
		s = alias
	}
	return s, slices.Contains(activationNames, s)
}

// ActivationByName returns the activation function f used by weight splitting. Names are case-insensitive
// and may be written as in Python ("ReLU()", "torch.relu"); "" and "none" mean identity. The functions follow
// PyTorch's defaults: leaky_relu has negative slope 0.01, gelu is the exact (erf) form, elu has α = 1, and
// relu6 is min(max(x, 0), 6).
func ActivationByName(name string) (func(*Node) *Node, error) {
	var a ActivationName
	if err := a.UnmarshalText([]byte(name)); err != nil {
		return nil, err
	}
	return map[ActivationName]func(*Node) *Node{
		"identity":   func(x *Node) *Node { return x },
		"relu":       activations.Relu,
		"relu6":      func(x *Node) *Node { return MinScalar(MaxScalar(x, 0.0), 6.0) },
		"tanh":       Tanh,
		"sigmoid":    Sigmoid,
		"leaky_relu": func(x *Node) *Node { return activations.LeakyReluWithAlpha(x, 0.01) },
		"gelu":       activations.Gelu,
		"silu":       activations.Swish,
		"elu": func(x *Node) *Node {
			return Where(GreaterThan(x, ScalarZero(x.Graph(), x.DType())), x, Expm1(x))
		},
	}[a], nil
}
