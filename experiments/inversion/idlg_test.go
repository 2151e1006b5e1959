package inversion

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/bio-transformations/go-bio/experiments"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

func TestIDLGLabels(t *testing.T) {
	for _, tc := range []struct {
		scores []float64
		k      int
		want   []int32
	}{
		{[]float64{0.1, -0.9, 0.1, 0.2}, 1, []int32{1}},
		{[]float64{0.3, -0.2, 0.1, -0.5, 0.05}, 2, []int32{3, 1}},
		{[]float64{-0.1, -0.1, 0.2}, 2, []int32{0, 1}}, // a tie: the lower class first
		{[]float64{0.2, -0.1, -0.1}, 1, []int32{1}},
		{[]float64{1, 2, 3}, 3, []int32{0, 1, 2}},
	} {
		got, err := IDLGLabels(tc.scores, tc.k)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("IDLGLabels(%v, %d) = %v (%v), want %v", tc.scores, tc.k, got, err, tc.want)
		}
	}
	for _, k := range []int{0, 4} {
		if _, err := IDLGLabels([]float64{1, 2, 3}, k); err == nil || !strings.Contains(err.Error(), "3 classes") {
			t.Errorf("k=%d of 3 classes: got %v", k, err)
		}
	}
}

func TestLabelsCorrect(t *testing.T) {
	for _, tc := range []struct {
		truth, inferred []int32
		want            float64
	}{
		{[]int32{4}, []int32{4}, 1},
		{[]int32{4}, []int32{2}, 0},
		{[]int32{1, 2, 3}, []int32{3, 1, 2}, 1},       // order does not matter
		{[]int32{1, 1, 2}, []int32{1, 2, 7}, 2.0 / 3}, // a repeated label counts once per inferred copy
		{[]int32{1, 2}, []int32{1, 1}, 0.5},
		{nil, nil, 0},
	} {
		if got := LabelsCorrect(tc.truth, tc.inferred); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("LabelsCorrect(%v, %v) = %g, want %g", tc.truth, tc.inferred, got, tc.want)
		}
	}
}

// fcnetVictim is an untrained FCNet 16-12-10 (package models, classifier scope "output"), plain or
// converted with conv, created with the given initial seed.
func fcnetVictim(t *testing.T, b backends.Backend, seed int64, conv *bio.Converter) Victim {
	t.Helper()
	model, err := experiments.PaperModels("fcnet", 12)
	if err != nil {
		t.Fatal(err)
	}
	return newVictim(t, b, seed, model, conv)
}

func newVictim(t *testing.T, b backends.Backend, seed int64, model train.ModelFn, conv *bio.Converter) Victim {
	t.Helper()
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, seed)
	if conv != nil {
		model = conv.Convert(model)
	}
	x, _ := randImages[float32](1, 1)
	if _, err := context.ExecOnce(b, ctx, func(ctx *context.Context, x *Node) *Node { return model(ctx, nil, []*Node{x})[0] }, x); err != nil {
		t.Fatal(err)
	}
	if conv != nil {
		if err := conv.CreateState(b, ctx); err != nil {
			t.Fatal(err)
		}
	}
	return Victim{Backend: b, Context: ctx, Model: model, Converter: conv}
}

// softmaxMinusOneHot is the gradient of the mean cross-entropy of the batch with respect to the classifier's
// bias, computed in float64 from the logits: (1/B)·Σ_i (softmax(z_i) − onehot(y_i)).
func softmaxMinusOneHot(logits [][]float32, labels []int32) []float64 {
	out := make([]float64, len(logits[0]))
	for i, z := range logits {
		m := float64(slices.Max(z))
		s := 0.0
		for _, v := range z {
			s += math.Exp(float64(v) - m)
		}
		for c, v := range z {
			out[c] += math.Exp(float64(v)-m) / s / float64(len(logits))
		}
		out[labels[i]] -= 1 / float64(len(logits))
	}
	return out
}

// TestInferLabelsBatchOne: on untrained FCNets of several seeds, iDLG recovers the label of a single image
// exactly, for every class, from the plain gradient of a plain model and from the fuzzy update of a
// converted one with weight splitting; the scores it ranks are the classifier's bias gradient, which equals
// softmax − one-hot computed independently from the logits.
func TestInferLabelsBatchOne(t *testing.T) {
	b := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRates, cfg.WeightSplittingGamma, cfg.FuzzyLearningRateFactorNu = true, 2, 0.5
	cfg.RejuvenateWeights, cfg.Crystallize = false, false
	for _, seed := range []int64{1, 2, 3} {
		for _, conv := range []*bio.Converter{nil, mustConverter(t, cfg)} {
			v := fcnetVictim(t, b, seed, conv)
			c := tinyConfig()
			c.Observe = ObserveUpdate
			a, err := NewAttack(v, c)
			if err != nil {
				t.Fatal(err)
			}
			for label := range int32(10) {
				x, _ := randImages[float32](1, uint64(seed*100)+uint64(label))
				observed, err := a.Observe(x, labelsOf(label))
				if err != nil {
					t.Fatal(err)
				}
				got, err := a.InferLabels(observed, 1)
				if err != nil {
					t.Fatal(err)
				}
				if l := tensors.MustCopyFlatData[int32](got); !slices.Equal(l, []int32{label}) {
					t.Errorf("seed %d converted %v: inferred %v, want [%d]", seed, conv != nil, l, label)
				}
				if conv == nil && label == 0 {
					checkBiasScores(t, v, a, x, []int32{label}, observed)
				}
			}
		}
	}
}

func mustConverter(t *testing.T, cfg bio.Config) *bio.Converter {
	t.Helper()
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

// checkBiasScores compares the scores InferLabels ranks with softmax − one-hot of the victim's logits, and
// returns the latter.
func checkBiasScores(t *testing.T, v Victim, a *Attack, x *tensors.Tensor, labels []int32, observed []*tensors.Tensor) []float64 {
	t.Helper()
	out, err := context.ExecOnce(v.Backend, v.Context.Reuse(), func(ctx *context.Context, x *Node) *Node {
		return v.Model(ctx, nil, []*Node{x})[0]
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	want := softmaxMinusOneHot(out.Value().([][]float32), labels)
	got, err := classifierScores(a.observedVars, observed, "")
	if err != nil {
		t.Fatal(err)
	}
	for c := range want {
		if math.Abs(got[c]-want[c]) > 1e-6 {
			t.Errorf("score of class %d: %g, softmax − one-hot %g", c, got[c], want[c])
		}
	}
	return want
}

// TestInferLabelsBatch: a present class c scores (Σ_i p_ic − n_c)/B and an absent one Σ_i p_ic/B > 0, so
// where every present class's summed probability is below its count the k most negative scores are the
// batch's distinct labels. Dim images (pixels in [0, 0.05]) keep an untrained network's probabilities near
// 1/10, which makes that hold for batches of up to 8 distinct labels (checked in float64 before the rule
// is); a repeated label is recovered once.
func TestInferLabelsBatch(t *testing.T) {
	b := newBackend(t)
	for _, seed := range []int64{1, 2} {
		v := fcnetVictim(t, b, seed, nil)
		a, err := NewAttack(v, tinyConfig())
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			labels []int32
			want   float64
		}{{[]int32{7, 2, 9, 0}, 1}, {[]int32{5, 3}, 1}, {[]int32{1, 4, 6, 8, 3, 2, 0, 9}, 1}, {[]int32{3, 3, 5}, 2.0 / 3}} {
			_, px := randImages[float32](len(tc.labels), uint64(seed)+11)
			for i := range px {
				px[i] *= 0.05
			}
			x := tensors.FromFlatDataAndDimensions(px, len(tc.labels), len(px)/len(tc.labels))
			observed, err := a.Observe(x, labelsOf(tc.labels...))
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.InferLabels(observed, len(tc.labels))
			if err != nil {
				t.Fatal(err)
			}
			inferred := tensors.MustCopyFlatData[int32](got)
			if c := LabelsCorrect(tc.labels, inferred); c != tc.want {
				t.Errorf("seed %d labels %v: inferred %v, %g correct, want %g", seed, tc.labels, inferred, c, tc.want)
			}
			scores := checkBiasScores(t, v, a, x, tc.labels, observed)
			for _, l := range tc.labels {
				if !(scores[l] < 0) {
					t.Fatalf("seed %d labels %v: the fixture does not meet the rule's condition: class %d scores %g", seed, tc.labels, l, scores[l])
				}
			}
		}
	}
}

// TestInferLabelsClassifier: the classifier is found by its scope (Victim.ClassifierScope), a classifier
// without a bias is scored by its kernel's column sums, and the errors say what is missing.
func TestInferLabelsClassifier(t *testing.T) {
	b := newBackend(t)
	x, _ := randImages[float32](1, 3)
	// tinyMLP's classifier is "/fc2/dense".
	v := victim(t, b, nil, x)
	a, err := NewAttack(v, tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InferLabels(nil, 1); err == nil || !strings.Contains(err.Error(), "until Observe") {
		t.Errorf("before Observe: %v", err)
	}
	observed, err := a.Observe(x, labelsOf(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InferLabels(observed, 1); err == nil || !strings.Contains(err.Error(), `element "output"`) {
		t.Errorf("default scope on a model without \"output\": %v", err)
	}
	if _, err := a.InferLabels(observed[:2], 1); err == nil || !strings.Contains(err.Error(), "2 observed gradients for 4") {
		t.Errorf("too few gradients: %v", err)
	}
	v.ClassifierScope = "fc2"
	a, _ = NewAttack(v, tinyConfig())
	if _, err := a.Observe(x, labelsOf(2)); err != nil {
		t.Fatal(err)
	}
	if got, err := a.InferLabels(observed, 1); err != nil || tensors.MustCopyFlatData[int32](got)[0] != 2 {
		t.Errorf("scope fc2: %v, %v", got, err)
	}
	noBias := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := activations.Relu(biolayers.Dense(ctx.In("hidden"), inputs[0], true, 8))
		return []*Node{biolayers.Dense(ctx.In("output"), h, false, 5)}
	}
	for seed := range int64(3) {
		nv := newVictim(t, b, seed+1, noBias, nil)
		na, _ := NewAttack(nv, tinyConfig())
		for label := range int32(5) {
			obs, err := na.Observe(x, labelsOf(label))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := na.InferLabels(obs, 1); err != nil || tensors.MustCopyFlatData[int32](got)[0] != label {
				t.Errorf("no bias, seed %d label %d: inferred %v, %v", seed, label, got, err)
			}
		}
	}
}
