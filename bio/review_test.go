package bio_test

import (
	"math"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Regression tests for the findings of a review of the redesigned step.

// oneStep trains model with opt for one step on a fixed batch and returns the context and the error.
func oneStep(t *testing.T, seed int64, model train.ModelFn, opt optimizers.Interface) (*context.Context, error) {
	t.Helper()
	ctx := testenv.Context(seed)
	trainer := train.NewTrainer(newBackend(t), ctx, model, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
	x, y := blobs(12, 1)
	_, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
	return ctx, err
}

// An excluded classifier still takes part in the classifier rule: the hidden layer before it is split.
func TestExcludedClassifierWithSplitting(t *testing.T) {
	cfg := bio.DefaultConfig()
	cfg.RejuvenateWeights, cfg.WeightSplittingGamma = false, 2
	conv := mustConverter(t, cfg).Exclude("out")
	if _, err := oneStep(t, 1, conv.Convert(bioMLP(4)), conv.Optimizer(optimizers.StochasticGradientDescent().Done())); err != nil {
		t.Fatalf("Γ = 2 with the classifier excluded: %v", err)
	}
}

// With crystallization on and fuzzy learning rates off, the weight-adaptive distribution draws nothing:
// the factors stay 1, or δ where crystallized.
func TestCrystallizeOnlyKeepsFactorsOne(t *testing.T) {
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{Crystallize: true}
	cfg.FuzzyLRDistribution = bio.WeightAdaptive
	conv := mustConverter(t, cfg)
	ctx, err := oneStep(t, 1, conv.Convert(bioMLP(8)), conv.Optimizer(optimizers.StochasticGradientDescent().Done()))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range conv.Layers(ctx) {
		for i, s := range values(t, l.Factors(ctx)) {
			if math.Abs(s-1) > 1e-6 && math.Abs(s-cfg.DampeningFactor) > 1e-6 {
				t.Fatalf("%s: factor %d = %g, want 1 or %g", l.Scope, i, s, cfg.DampeningFactor)
			}
		}
	}
}

// Parts of one graph made from a converter before and after a change of its layer selection are an error.
func TestPartsWithDifferentSelectionsRefused(t *testing.T) {
	conv := mustConverter(t, bio.DefaultConfig())
	model := conv.Convert(bioMLP(8))
	conv.Exclude("out")
	_, err := oneStep(t, 1, model, conv.Optimizer(optimizers.StochasticGradientDescent().Done()))
	if err == nil || !strings.Contains(err.Error(), "layer selections") {
		t.Fatalf("want an error about different layer selections, got %v", err)
	}
}

// A converted model called twice in one training graph adds the L1 term once, and applies the classifier
// rule to each call.
func TestModelCalledTwice(t *testing.T) {
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{L1Reg: true}
	cfg.L1Lambda, cfg.WeightSplittingGamma = 1, 2
	conv := mustConverter(t, cfg)
	model := conv.Convert(bioMLP(4)) // a classifier of 3 units: Γ = 2 does not divide it
	x, _ := blobs(6, 3)
	out, err := context.ExecOnce(newBackend(t), testenv.Context(1), func(ctx *context.Context, xn *graph.Node) *graph.Node {
		g := xn.Graph()
		ctx.SetTraining(g, true)
		model(ctx, nil, []*graph.Node{xn})
		model(ctx.Reuse(), nil, []*graph.Node{xn})
		return graph.Stack([]*graph.Node{train.GetLosses(ctx, g), conv.L1Reg(ctx, g)}, 0)
	}, x)
	if err != nil {
		t.Fatalf("the converted model called twice: %v", err)
	}
	v := tensors.MustCopyFlatData[float32](out)
	if math.Abs(float64(v[0]-v[1])) > 1e-5*float64(v[1]) {
		t.Fatalf("added losses %g, want the L1 term %g once", v[0], v[1])
	}
}

// Activity re-draws use the activity observed in the same step: two models with different activities
// get different spreads at the first re-draw.
func TestActivityRedrawSeesThisStep(t *testing.T) {
	cfg := bio.DefaultConfig()
	cfg.RejuvenateWeights = false
	cfg.FuzzyLRDistribution, cfg.FuzzyLRDynamic, cfg.FuzzyLRUpdateFreq = bio.Activity, true, 1
	var runs [][]float64
	for _, seed := range []int64{1, 2} {
		conv := mustConverter(t, cfg)
		ctx, err := oneStep(t, seed, conv.Convert(bioMLP(16)), conv.Optimizer(optimizers.StochasticGradientDescent().Done()))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, values(t, conv.Layers(ctx)[0].Factors(ctx)))
	}
	same := 0
	for i := range runs[0] {
		if runs[0][i] == runs[1][i] {
			same++
		}
	}
	if same == len(runs[0]) {
		t.Fatalf("factors after the first re-draw are identical for two models with different activities")
	}
}
