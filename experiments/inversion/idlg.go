package inversion

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// LabelMode says how the attacker obtains the labels of the attacked batch.
type LabelMode string

const (
	// LabelsKnown gives the attacker the true labels, as Geiping et al. and the paper's authors do.
	LabelsKnown LabelMode = "known"
	// LabelsIDLG infers them from the observed gradient of the classifier (Zhao et al. 2020, "iDLG", extended
	// to batches; see InferLabels).
	LabelsIDLG LabelMode = "idlg"
)

// LabelModes lists the known label modes.
var LabelModes = []LabelMode{LabelsKnown, LabelsIDLG}

// DefaultClassifierScope is the scope element of the classifier layer in every model of package models.
const DefaultClassifierScope = "output"

// Validate returns an error naming the mode and the allowed ones; the empty mode (designs written before
// the mode existed) means LabelsKnown.
func (m LabelMode) Validate() error {
	if m == "" || slices.Contains(LabelModes, m) {
		return nil
	}
	return fmt.Errorf("attack: labels=%q must be %q or %q", m, LabelsKnown, LabelsIDLG)
}

// IDLGLabels returns the k classes with the most negative scores, most negative first (ties: the lower
// class first). score[c] is the gradient of the batch's mean cross-entropy with respect to the classifier's
// bias of class c, (1/B)·Σ_i (p_ic − [y_i = c]), or the sum of its weight-gradient column (the same terms
// weighted by the classifier's inputs, which are ReLU outputs ≥ 0). For one example only the true class's
// term p_c − 1 is negative, so the rule is exact (iDLG); for a batch of k distinct labels it recovers them
// when every true class outweighs the other classes' summed probabilities. A label that occurs twice in a
// batch is returned once (k distinct classes are returned), so repeated labels cannot be recovered this way.
func IDLGLabels(scores []float64, k int) ([]int32, error) {
	if k <= 0 || k > len(scores) {
		return nil, fmt.Errorf("inversion: idlg: cannot infer %d labels from the scores of %d classes", k, len(scores))
	}
	order := make([]int32, len(scores))
	for c := range order {
		order[c] = int32(c)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(scores[a], scores[b]) })
	return order[:k], nil
}

// LabelsCorrect returns the fraction of the true labels that the inferred ones recover, counted as
// multisets (the attack recovers the batch as an unordered set): Σ_c min(#true c, #inferred c) / len(truth).
func LabelsCorrect(truth, inferred []int32) float64 {
	if len(truth) == 0 {
		return 0
	}
	left := map[int32]int{}
	for _, l := range inferred {
		left[l]++
	}
	hit := 0
	for _, l := range truth {
		if left[l] > 0 {
			left[l]--
			hit++
		}
	}
	return float64(hit) / float64(len(truth))
}

// InferLabels infers the labels of a batch of the given size from observed gradients (as returned by
// Observe, in the same variable order) with IDLGLabels, and returns them as a [batch, 1] tensor. The scores
// are the classifier's bias gradient; a classifier without a bias uses the column sums of its kernel's
// gradient. The classifier is found by its scope (Victim.ClassifierScope). Weight splitting never splits the
// classifier, and the fuzzy update multiplies the kernel's gradient by positive factors and leaves the
// bias's alone, so the rule applies to both observations. An observation graph must have been built (by
// Observe or Objective) to know the variables' order.
func (a *Attack) InferLabels(observed []*tensors.Tensor, batch int) (*tensors.Tensor, error) {
	if a.observedVars == nil {
		return nil, errors.New("inversion: idlg: the variables of the observed gradients are unknown until Observe or Objective ran")
	}
	if len(observed) != len(a.observedVars) {
		return nil, fmt.Errorf("inversion: idlg: %d observed gradients for %d trainable variables", len(observed), len(a.observedVars))
	}
	scores, err := classifierScores(a.observedVars, observed, a.victim.ClassifierScope)
	if err != nil {
		return nil, err
	}
	labels, err := IDLGLabels(scores, batch)
	if err != nil {
		return nil, err
	}
	return tensors.FromFlatDataAndDimensions(labels, batch, 1), nil
}

// classifierScores returns the per-class scores of IDLGLabels from the observed gradients of vars.
func classifierScores(vars []*context.Variable, observed []*tensors.Tensor, scope string) ([]float64, error) {
	if scope == "" {
		scope = DefaultClassifierScope
	}
	kernel, bias := -1, -1
	for i, v := range vars {
		if !slices.Contains(strings.Split(v.Scope(), "/"), scope) {
			continue
		}
		switch {
		case v.Name() == "biases" && observed[i].Rank() == 1:
			bias = i
		case v.Name() == "weights" && observed[i].Rank() == 2:
			kernel = i
		}
	}
	switch {
	case bias >= 0:
		return floats(observed[bias])
	case kernel >= 0:
		g, err := floats(observed[kernel])
		if err != nil {
			return nil, err
		}
		classes := observed[kernel].Shape().Dim(1)
		sums := make([]float64, classes)
		for i, v := range g {
			sums[i%classes] += v
		}
		return sums, nil
	}
	return nil, fmt.Errorf("inversion: idlg: no classifier \"biases\" [classes] or \"weights\" [in, classes] among the observed variables in a scope with the element %q (set Victim.ClassifierScope)", scope)
}

// floats returns a float32 or float64 tensor's values, flat, as float64.
func floats(t *tensors.Tensor) ([]float64, error) {
	switch t.DType() {
	case dtypes.Float32:
		flat, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(flat))
		for i, v := range flat {
			out[i] = float64(v)
		}
		return out, nil
	case dtypes.Float64:
		return tensors.CopyFlatData[float64](t)
	}
	return nil, fmt.Errorf("inversion: idlg: gradient of dtype %s: want float32 or float64", t.DType())
}
