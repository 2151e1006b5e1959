package bio_test

import (
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/internal/testenv"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// gradientFn is a model-level gradient function of the converter, as a custom training step calls it.
type gradientFn func(conv *bio.Converter, ctx *context.Context, g *Graph, grads []*Node) []*Node

// customSteps trains with a hand-written step — the converted model, the model-level function fn on the
// gradients, SGD, then train.ExecPerStepUpdateGraphFn as train.Trainer runs it — and returns the state.
func customSteps(t *testing.T, conv *bio.Converter, model train.ModelFn, fn gradientFn, lr float64, steps int) map[string][]float64 {
	t.Helper()
	ctx := testenv.Context(7)
	converted := conv.Convert(model)
	exec, err := context.NewExec(newBackend(t), ctx, func(ctx *context.Context, x, y *Node) *Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		loss := losses.SparseCategoricalCrossEntropyLogits([]*Node{y}, converted(ctx, nil, []*Node{x}))
		if extra, found := ctx.InAbsPath(train.TrainerAbsoluteScope).GetGraphParam(g, train.TrainerLossGraphParamKey); found {
			loss = Add(loss, extra.(*Node)) // the L1 term's value that Convert added with train.AddLoss
		}
		grads := ctx.BuildTrainableVariablesGradientsGraph(loss)
		if fn != nil {
			grads = fn(conv, ctx, g, grads)
		}
		sgd := optimizers.StochasticGradientDescent().WithLearningRate(lr).Done().(*optimizers.SGDConfig)
		sgd.UpdateGraphWithGradients(ctx, grads, loss.DType())
		train.ExecPerStepUpdateGraphFn(ctx, g)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	x, y := blobs(24, 5)
	for range steps {
		if _, err := exec.Exec(x, y); err != nil {
			t.Fatal(err)
		}
	}
	return stateOf(t, ctx)
}

// trainerSteps trains with train.Trainer, the converted model and the wrapped optimizer.
func trainerSteps(t *testing.T, conv *bio.Converter, model train.ModelFn, lr float64, steps int) map[string][]float64 {
	t.Helper()
	ctx := testenv.Context(7)
	trainer := train.NewTrainer(newBackend(t), ctx, conv.Convert(model), losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(lr).Done()), nil, nil)
	x, y := blobs(24, 5)
	for range steps {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			t.Fatal(err)
		}
	}
	return stateOf(t, ctx)
}

// stateOf is the model's and the library's variables (not the trainer's metrics and counters).
func stateOf(t *testing.T, ctx *context.Context) map[string][]float64 {
	t.Helper()
	s := snapshot(t, ctx)
	for name := range s {
		if name == "/global_step" || name == "/optimizers/learning_rate" || name[:2] == "/#" {
			delete(s, name)
		}
	}
	return s
}

// TestModelLevelMatchesOptimizer: for every gradient mechanism alone, a custom training step that calls
// the converter's model-level function gives bit for bit the state that train.Trainer with the wrapped
// optimizer gives — one implementation, not two.
func TestModelLevelMatchesOptimizer(t *testing.T) {
	only := func(set func(m *bio.Mechanisms)) bio.Config {
		cfg := bio.DefaultConfig()
		cfg.Mechanisms = bio.Mechanisms{}
		set(&cfg.Mechanisms)
		cfg.FuzzyLearningRateFactorNu, cfg.CrystalThresh, cfg.BaseLR = 0.5, 0.02, 1
		return cfg
	}
	for _, tc := range []struct {
		name string
		cfg  bio.Config
		fn   gradientFn
	}{
		{"fuzzy_learning_rates", only(func(m *bio.Mechanisms) { m.FuzzyLearningRates = true }),
			(*bio.Converter).FuzzyLearningRates},
		{"crystallize after fuzzy (the reference's loop)", only(func(m *bio.Mechanisms) { m.FuzzyLearningRates, m.Crystallize = true, true }),
			func(c *bio.Converter, ctx *context.Context, g *Graph, grads []*Node) []*Node {
				return c.Crystallize(ctx, g, c.FuzzyLearningRates(ctx, g, grads))
			}},
		{"volume_dependent_lr", only(func(m *bio.Mechanisms) { m.VolumeDependentLR = true }),
			(*bio.Converter).VolumeDependentLR},
		{"scale_grad", only(func(m *bio.Mechanisms) { m.ScaleGrad = true }), (*bio.Converter).ScaleGrad},
		{"l1_reg", only(func(m *bio.Mechanisms) { m.L1Reg = true }), (*bio.Converter).L1RegGradient},
		{"rejuvenate_weights (in the step)", only(func(m *bio.Mechanisms) { m.RejuvenateWeights = true }), nil},
		{"apply_dales_principle (in the step)", only(func(m *bio.Mechanisms) { m.ApplyDalesPrinciple = true }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv := mustConverter(t, tc.cfg)
			want := trainerSteps(t, conv, bioMLP(8), 0.3, 3)
			got := customSteps(t, conv, bioMLP(8), tc.fn, 0.3, 3)
			assertSameState(t, tc.name, got, want)
			if tc.name == "crystallize after fuzzy (the reference's loop)" {
				assertSomeCrystallized(t, got)
			}
		})
	}
}

// assertSomeCrystallized fails unless crystallization dampened some factors and not others: the
// equivalence test must exercise it.
func assertSomeCrystallized(t *testing.T, state map[string][]float64) {
	t.Helper()
	dampened, kept := 0, 0
	for _, v := range state["/bio/hidden/dense/fuzzy_factors"] {
		if v < 0.5 { // below fuzzy_lr_min: only crystallization gets there from [0.5, 1.5]
			dampened++
		} else {
			kept++
		}
	}
	if dampened == 0 || kept == 0 {
		t.Fatalf("%d factors dampened below the clamp, %d not: the test data must crystallize some", dampened, kept)
	}
}

// TestWeightMechanismsBetweenSteps: rejuvenation and Dale's projection run between steps with the
// model-level functions give what they give inside the training step.
func TestWeightMechanismsBetweenSteps(t *testing.T) {
	backend := newBackend(t)
	for _, tc := range []struct {
		name string
		set  func(m *bio.Mechanisms)
		run  func(conv *bio.Converter, ctx *context.Context) error
		lr   float64
	}{
		// With lr 1e-30 the step's weights before and after the update are the same (the update is far
		// below float32's resolution; SGD takes lr 0 for "the default"), so rejuvenating them between
		// steps is the in-step rejuvenation (the same RNG stream, the same draw).
		{"rejuvenate_weights", func(m *bio.Mechanisms) { m.RejuvenateWeights = true },
			func(c *bio.Converter, ctx *context.Context) error { return c.RejuvenateWeights(backend, ctx) }, 1e-30},
		{"apply_dales_principle", func(m *bio.Mechanisms) { m.ApplyDalesPrinciple = true },
			func(c *bio.Converter, ctx *context.Context) error { return c.EnforceDalesPrinciple(backend, ctx) }, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bio.DefaultConfig()
			cfg.Mechanisms = bio.Mechanisms{}
			tc.set(&cfg.Mechanisms)
			cfg.RejuvenationParameterDre = 2
			inStep := trainerSteps(t, mustConverter(t, cfg), bioMLP(8), tc.lr, 1)

			// The same step without the mechanism — the model built once by the converted model function
			// (for Dale's initialisation), then trained unconverted — and then the model-level function.
			conv := mustConverter(t, cfg)
			ctx := testenv.Context(7)
			x, y := blobs(24, 5)
			build, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node {
				return conv.Convert(bioMLP(8))(ctx, nil, []*Node{x})[0]
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := build.Exec(x); err != nil {
				t.Fatal(err)
			}
			trainer := train.NewTrainer(backend, ctx.Reuse(), bioMLP(8), losses.SparseCategoricalCrossEntropyLogits,
				optimizers.StochasticGradientDescent().WithLearningRate(tc.lr).Done(), nil, nil)
			if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, ctx)
			if err := tc.run(conv, ctx); err != nil {
				t.Fatal(err)
			}
			between := stateOf(t, ctx)
			changed := 0
			for i, w := range between["/hidden/dense/weights"] {
				if w != before["/hidden/dense/weights"][i] {
					changed++
				}
			}
			if changed == 0 {
				t.Fatalf("%s changed no weight: the test must exercise it", tc.name)
			}
			for _, name := range []string{"/hidden/dense/weights", "/out/dense/weights"} {
				testenv.AssertClose(t, name, between[name], inStep[name], 0)
			}
		})
	}
}

// TestHandlesKeepTheirConfiguration: what a converter handed out keeps the configuration it was made
// with; UpdateConfig changes only what is made afterwards.
func TestHandlesKeepTheirConfiguration(t *testing.T) {
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{FuzzyLearningRates: true}
	conv := mustConverter(t, cfg)
	model, opt := conv.Convert(bioMLP(8)), conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(0.3).Done())
	if err := conv.UpdateConfig(map[string]any{"fuzzy_learning_rate_factor_nu": 0.5, "rejuvenate_weights": true}); err != nil {
		t.Fatal(err)
	}
	if got := conv.Config(); got.FuzzyLearningRateFactorNu != 0.5 || !got.RejuvenateWeights {
		t.Fatalf("UpdateConfig did not update the converter: %s", got)
	}
	ctx := testenv.Context(7)
	trainer := train.NewTrainer(newBackend(t), ctx, model, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
	x, y := blobs(24, 5)
	if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
		t.Fatal(err)
	}
	fresh := mustConverter(t, cfg)
	assertSameState(t, "handles made before UpdateConfig", stateOf(t, ctx), trainerSteps(t, fresh, bioMLP(8), 0.3, 1))
	for _, l := range conv.Layers(ctx) {
		if l.Config().FuzzyLearningRateFactorNu != 0.5 {
			t.Fatalf("a layer handle made after UpdateConfig has ν = %g", l.Config().FuzzyLearningRateFactorNu)
		}
	}
}

// TestOneSideConverted: with only the optimizer wrapped, the after-update mechanisms still run; with only
// the model converted, a gradient mechanism is an error saying what to do.
func TestOneSideConverted(t *testing.T) {
	backend := newBackend(t)
	x, y := blobs(24, 5)
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{RejuvenateWeights: true}
	cfg.RejuvenationParameterDre = 2
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(7)
	build, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node { return bioMLP(8)(ctx, nil, []*Node{x})[0] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build.Exec(x); err != nil {
		t.Fatal(err)
	}
	w0 := values(t, ctx.GetVariableByScopeAndName("/hidden/dense", "weights"))
	trainer := train.NewTrainer(backend, ctx.Reuse(), bioMLP(8), losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(1e-30).Done()), nil, nil)
	if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
		t.Fatal(err)
	}
	w1 := values(t, ctx.GetVariableByScopeAndName("/hidden/dense", "weights"))
	changed := 0
	for i := range w0 {
		if w0[i] != w1[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("rejuvenation (d = 2) replaced nothing with only the optimizer wrapped")
	}

	cfg.Mechanisms = bio.Mechanisms{FuzzyLearningRates: true}
	conv = mustConverter(t, cfg)
	trainer = train.NewTrainer(backend, testenv.Context(8), conv.Convert(bioMLP(8)), losses.SparseCategoricalCrossEntropyLogits,
		optimizers.StochasticGradientDescent().Done(), nil, nil)
	_, err = trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
	if err == nil || !strings.Contains(err.Error(), "fuzzy_learning_rates") || !strings.Contains(err.Error(), "conv.Optimizer") {
		t.Fatalf("want an error naming fuzzy_learning_rates and conv.Optimizer, got %v", err)
	}
}
