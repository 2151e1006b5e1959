package bio_test

import (
	"math"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/bio-transformations/go-bio/internal/testenv"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/core/tensors/images"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/gomlx/gomlx/ui/commandline"
)

func factors(t *testing.T, ctx *context.Context, scope string) []float64 {
	t.Helper()
	v := ctx.GetVariableByScopeAndName("/bio"+scope, "fuzzy_factors")
	if v == nil {
		t.Fatalf("no factors for %s", scope)
	}
	return values(t, v)
}

func TestDistributionsThroughTheOptimizer(t *testing.T) {
	backend := newBackend(t)
	x, y := blobs(30, 12)
	newRun := func(cfg bio.Config) (*context.Context, *train.Trainer) {
		ctx := testenv.Context(1)
		return ctx, newTrainer(backend, ctx, mustConverter(t, cfg), bioMLP(64), optimizers.StochasticGradientDescent().Done())
	}
	base := bio.DefaultConfig()
	base.RejuvenateWeights = false
	base.FuzzyLearningRateFactorNu = 0.2

	t.Run("layer_adaptive", func(t *testing.T) {
		cfg := base
		cfg.FuzzyLRDistribution = bio.LayerAdaptive
		ctx, trainer := newRun(cfg)
		trainSteps(t, trainer, x, y, 1)
		for scope, nu := range map[string]float64{"/hidden/dense": 0.2, "/out/dense": 0.2 * 0.75} {
			_, _, lo, hi := testenv.Moments(factors(t, ctx, scope))
			if lo < 1-nu-1e-6 || hi > 1+nu+1e-6 || lo > 1-0.8*nu || hi < 1+0.8*nu {
				t.Errorf("%s: range [%g, %g], want to fill [%g, %g]", scope, lo, hi, 1-nu, 1+nu)
			}
		}
	})
	t.Run("weight_adaptive", func(t *testing.T) {
		cfg := base
		cfg.FuzzyLRDistribution = bio.WeightAdaptive
		ctx, trainer := newRun(cfg)
		trainSteps(t, trainer, x, y, 1)
		s1 := factors(t, ctx, "/hidden/dense")
		_, std, lo, hi := testenv.Moments(s1)
		if std == 0 || lo < 1-1.5*0.2-1e-6 || hi > 1+1.5*0.2+1e-6 {
			t.Fatalf("drawn factors std %g range [%g, %g]", std, lo, hi)
		}
		trainSteps(t, trainer, x, y, 2)
		s3 := factors(t, ctx, "/hidden/dense")
		for i := range s1 {
			if s1[i] != s3[i] {
				t.Fatalf("weight-adaptive factors were re-drawn after the first step")
			}
		}
	})
	t.Run("temporal", func(t *testing.T) {
		cfg := base
		cfg.FuzzyLRDistribution = bio.Temporal
		cfg.FuzzyLRDynamic = true
		cfg.FuzzyLRDecay = 0.5
		cfg.FuzzyLRUpdateFreq = 2
		ctx, trainer := newRun(cfg)
		trainSteps(t, trainer, x, y, 1) // global step 1: no update
		s1 := factors(t, ctx, "/out/dense")
		trainSteps(t, trainer, x, y, 1) // global step 2: decay
		s2 := factors(t, ctx, "/out/dense")
		trainSteps(t, trainer, x, y, 1) // step 3: no update
		s3 := factors(t, ctx, "/out/dense")
		for i := range s1 {
			if math.Abs((s2[i]-1)-0.5*(s1[i]-1)) > 1e-6 || s3[i] != s2[i] {
				t.Fatalf("factor %d: %g → %g → %g, want a halving of s−1 at step 2 only", i, s1[i], s2[i], s3[i])
			}
		}
	})
	t.Run("activity", func(t *testing.T) {
		cfg := base
		cfg.FuzzyLRDistribution = bio.Activity
		cfg.FuzzyLRDynamic = true
		cfg.FuzzyLRUpdateFreq = 1
		ctx, trainer := newRun(cfg)
		trainSteps(t, trainer, x, y, 1)
		s1 := factors(t, ctx, "/hidden/dense")
		trainSteps(t, trainer, x, y, 1)
		s2 := factors(t, ctx, "/hidden/dense")
		diff := 0
		for i := range s1 {
			if s1[i] != s2[i] {
				diff++
			}
		}
		_, _, lo, hi := testenv.Moments(s2)
		if diff < len(s1)/2 || lo < 1-1.5*0.2-1e-6 || hi > 1+1.5*0.2+1e-6 {
			t.Fatalf("activity re-draw changed %d of %d factors, range [%g, %g]", diff, len(s1), lo, hi)
		}
	})
}

// TestAdamStateResetOnRejuvenation checks that the entries replaced by rejuvenation start with zero Adam
// moments: in a linear model every gradient entry is non-zero, so after one step the zero entries of the
// first moment are exactly the rejuvenated ones.
func TestAdamStateResetOnRejuvenation(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRates = false
	cfg.RejuvenationParameterDre = 1.5
	conv := mustConverter(t, cfg).RecordTelemetry()
	ctx := testenv.Context(222)
	trainer := train.NewTrainer(backend, ctx, conv.Convert(linearModel), mse,
		conv.Optimizer(optimizers.Adam().LearningRate(0.01).Done()), nil, nil)
	x := tensors.FromFlatDataAndDimensions(testenv.RandNormal(40*4, 31, 1), 40, 4)
	target := tensors.FromFlatDataAndDimensions(testenv.RandNormal(40*3, 32, 1), 40, 3)
	if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target}); err != nil {
		t.Fatal(err)
	}
	m1 := values(t, ctx.GetVariableByScopeAndName("/AdamOptimizer/lin/dense", "weights_1st_moment"))
	m2 := values(t, ctx.GetVariableByScopeAndName("/AdamOptimizer/lin/dense", "weights_2nd_moment"))
	zeros := 0
	for i := range m1 {
		if m1[i] == 0 {
			zeros++
			if m2[i] != 0 {
				t.Fatalf("entry %d: first moment reset but second moment %g", i, m2[i])
			}
		}
	}
	stats, err := conv.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := stats[0].Rejuvenated * float64(len(m1))
	if zeros == 0 || math.Abs(float64(zeros)-want) > 0.5 {
		t.Fatalf("%d moments reset, %g weights rejuvenated", zeros, want)
	}
}

// TestModelLevelCrystallizeAndL1 checks the model-level functions' effects against float64: Crystallize
// dampens exactly the factors of the float64 mask (and returns the gradients unchanged), and L1Reg is Σ|W|.
func TestModelLevelCrystallizeAndL1(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.RejuvenateWeights = false
	cfg.CrystalThresh, cfg.DampeningFactor = 0.05, 0.6
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(6)
	x := tensors.FromFlatDataAndDimensions(testenv.RandNormal(10*4, 41, 1), 10, 4)
	target := tensors.FromFlatDataAndDimensions(testenv.RandNormal(10*3, 42, 1), 10, 3)
	model := conv.Convert(linearModel)
	build, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node { return model(ctx, nil, []*Node{x})[0] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build.Exec(x); err != nil {
		t.Fatal(err)
	}
	if err := conv.CreateState(backend, ctx); err != nil {
		t.Fatal(err)
	}
	layer := conv.Layers(ctx)[0]
	w, s0 := values(t, layer.Weights), values(t, layer.Factors(ctx))
	step, err := context.NewExec(backend, ctx.Reuse(), func(ctx *context.Context, x, target *Node) []*Node {
		g := x.Graph()
		grads := ctx.BuildTrainableVariablesGradientsGraph(mse([]*Node{target}, model(ctx, nil, []*Node{x})))
		return []*Node{grads[0], conv.Crystallize(ctx, g, grads)[0], conv.L1Reg(ctx, g)}
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := step.Exec(x, target)
	if err != nil {
		t.Fatal(err)
	}
	grad := tensors.MustCopyFlatData[float64](outs[0])
	testenv.AssertClose(t, "Crystallize's gradients", tensors.MustCopyFlatData[float64](outs[1]), grad, 0)
	wantS, mask := bio.CrystallizeReference(s0, w, grad, cfg.CrystalThresh, cfg.DampeningFactor)
	testenv.AssertClose(t, "dampened factors", values(t, layer.Factors(ctx)), wantS, 1e-12)
	if n := countOnes(mask); n == 0 || n == len(mask) {
		t.Fatalf("%d of %d weights crystallized: the test data must crystallize some and not others", n, len(mask))
	}
	l1 := 0.0
	for _, v := range w {
		l1 += math.Abs(v)
	}
	testenv.AssertClose(t, "L1Reg", tensors.MustCopyFlatData[float64](outs[2]), []float64{l1}, 1e-12)
}

func countOnes(xs []float64) int {
	n := 0
	for _, x := range xs {
		if x == 1 {
			n++
		}
	}
	return n
}

func TestConverterFromContextWithCommandLine(t *testing.T) {
	ctx := context.New()
	bio.DefaultConfig().SetToContext(ctx)
	if _, err := commandline.ParseContextSettings(ctx, "bio_fuzzy_learning_rate_factor_nu=0.09;bio_weight_splitting_Gamma=2"); err != nil {
		t.Fatal(err)
	}
	conv, err := bio.ConverterFromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := conv.Config(); cfg.FuzzyLearningRateFactorNu != 0.09 || cfg.WeightSplittingGamma != 2 {
		t.Fatalf("settings not applied: %+v", cfg)
	}
	ctx.SetParam("bio_dampening_factor", 2.0)
	if _, err := bio.ConverterFromContext(ctx); err == nil {
		t.Fatal("invalid dampening_factor in the context: no error")
	}
}

func TestRestoreTrainableFlags(t *testing.T) {
	ctx := context.New()
	for _, name := range []string{"/bio/x/dense/fuzzy_factors", "/#rngState", "/global_step", "/AdamOptimizer/x/dense/weights_1st_moment", "/x/dense/weights", "/x/batch_normalization/mean", "/x/batch_normalization/scale", "/batchnorm_block/dense/weights", "/metrics/batch_loss/moving_average"} {
		scope, n := context.SplitScope(name)
		ctx.InAbsPath(scope).Checked(false).VariableWithValue(n, float32(0))
	}
	bio.RestoreTrainableFlags(ctx)
	want := map[string]bool{"/metrics/batch_loss/moving_average": false, "/bio/x/dense/fuzzy_factors": false, "/#rngState": false, "/global_step": false,
		"/AdamOptimizer/x/dense/weights_1st_moment": false, "/x/dense/weights": true, "/x/batch_normalization/mean": false,
		"/x/batch_normalization/scale": true, "/batchnorm_block/dense/weights": true}
	for v := range ctx.IterVariables() {
		if w, ok := want[v.ScopeAndName()]; ok && v.Trainable != w {
			t.Errorf("%s trainable = %v, want %v", v.ScopeAndName(), v.Trainable, w)
		}
	}
}

// TestRejuvenationBetweenStepsResetsAdam checks the between-steps path: conv.RejuvenateWeights replaces
// weights and zeroes the Adam moments of exactly those entries.
func TestRejuvenationBetweenStepsResetsAdam(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRates, cfg.RejuvenateWeights = false, false
	cfg.RejuvenationParameterDre = 1.5
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(370)
	trainer := train.NewTrainer(backend, ctx, conv.Convert(linearModel), mse,
		conv.Optimizer(optimizers.Adam().LearningRate(0.01).Done()), nil, nil)
	x := tensors.FromFlatDataAndDimensions(testenv.RandNormal(40*4, 33, 1), 40, 4)
	target := tensors.FromFlatDataAndDimensions(testenv.RandNormal(40*3, 34, 1), 40, 3)
	for range 2 {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target}); err != nil {
			t.Fatal(err)
		}
	}
	w := ctx.GetVariableByScopeAndName("/lin/dense", "weights")
	m1v := ctx.GetVariableByScopeAndName("/AdamOptimizer/lin/dense", "weights_1st_moment")
	before, m1Before := values(t, w), values(t, m1v)
	if err := conv.RejuvenateWeights(backend, ctx); err != nil {
		t.Fatal(err)
	}
	after, m1After := values(t, w), values(t, m1v)
	replaced := 0
	for i := range before {
		switch {
		case before[i] != after[i]:
			replaced++
			if m1After[i] != 0 {
				t.Fatalf("entry %d replaced but its first moment is %g", i, m1After[i])
			}
		case m1After[i] != m1Before[i]:
			t.Fatalf("entry %d kept but its first moment changed %g → %g", i, m1Before[i], m1After[i])
		}
	}
	if replaced == 0 || replaced == len(before) {
		t.Fatalf("%d of %d weights replaced", replaced, len(before))
	}
}

// plainOptimizer hides UpdateGraphWithGradients from the bio optimizer.
type plainOptimizer struct{ optimizers.Interface }

func TestOptimizerWithoutGradientsAPI(t *testing.T) {
	backend := newBackend(t)
	x := tensors.FromFlatDataAndDimensions(testenv.RandNormal(10*4, 51, 1), 10, 4)
	target := tensors.FromFlatDataAndDimensions(testenv.RandNormal(10*3, 52, 1), 10, 3)
	for _, tc := range []struct {
		name    string
		mode    bio.FactorMode
		cryst   bool
		wantErr bool
	}{{"update mode works", bio.FactorsOnUpdate, false, false}, {"gradient mode refused", bio.FactorsOnGradient, false, true},
		{"crystallize refused", bio.FactorsOnUpdate, true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bio.DefaultConfig()
			cfg.FactorMode, cfg.Crystallize = tc.mode, tc.cryst
			conv := mustConverter(t, cfg)
			ctx := testenv.Context(422)
			inner := plainOptimizer{optimizers.StochasticGradientDescent().Done()}
			trainer := train.NewTrainer(backend, ctx, conv.Convert(linearModel), mse, conv.Optimizer(inner), nil, nil)
			_, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target})
			if tc.wantErr != (err != nil) {
				t.Fatalf("error %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "UpdateGraphWithGradients") {
				t.Fatalf("error does not say what is missing: %v", err)
			}
		})
	}
}

// TestOptimizerStateResetStaysInItsLayer: a layer at the root scope ("/dense") must not reset the Adam state
// of another layer whose scope merely ends the same way ("/x/dense").
func TestOptimizerStateResetStaysInItsLayer(t *testing.T) {
	backend := newBackend(t)
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := biolayers.Dense(ctx, inputs[0], false, 4)
		return []*Node{biolayers.Dense(ctx.In("x"), h, false, 4)}
	}
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRates, cfg.RejuvenateWeights = false, false
	cfg.RejuvenationParameterDre = 1
	conv := mustConverter(t, cfg).Exclude("/x")
	ctx := testenv.Context(448)
	trainer := train.NewTrainer(backend, ctx, conv.Convert(model), mse, conv.Optimizer(optimizers.Adam().Done()), nil, nil)
	x := tensors.FromFlatDataAndDimensions(testenv.RandNormal(10*4, 53, 1), 10, 4)
	target := tensors.FromFlatDataAndDimensions(testenv.RandNormal(10*4, 54, 1), 10, 4)
	if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target}); err != nil {
		t.Fatal(err)
	}
	other := ctx.GetVariableByScopeAndName("/AdamOptimizer/x/dense", "weights_1st_moment")
	own := ctx.GetVariableByScopeAndName("/AdamOptimizer/dense", "weights_1st_moment")
	otherBefore, ownBefore := values(t, other), values(t, own)
	if err := conv.RejuvenateWeights(backend, ctx); err != nil {
		t.Fatal(err)
	}
	testenv.AssertClose(t, "Adam moment of the unconverted /x/dense", values(t, other), otherBefore, 0)
	changed := 0
	for i, v := range values(t, own) {
		if v != ownBefore[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("rejuvenation (d = 1) reset no Adam moment of its own layer")
	}
}

func TestChannelsFirstConvolution(t *testing.T) {
	backend := newBackend(t)
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		img := Reshape(inputs[0], -1, 2, 2, 2) // [batch, channels=2, 2, 2]
		y := layers.Convolution(ctx.In("cf"), img).ChannelsAxis(images.ChannelsFirst).Channels(3).KernelSize(1).Done()
		return []*Node{ReduceAllSum(y)}
	}
	conv := mustConverter(t, bio.DefaultConfig()).ChannelsFirst("cf")
	ctx := testenv.Context(481)
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node {
		return conv.Convert(model)(ctx, nil, []*Node{x})[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := blobs(6, 1)
	if _, err := exec.Exec(x); err != nil {
		t.Fatal(err)
	}
	m := conv.Layers(ctx)[0]
	if dims := m.Weights.Shape().Dimensions; len(dims) != 4 || dims[0] != 3 || dims[1] != 2 || m.InputAxis != 1 || len(m.OutputAxes) != 1 || m.OutputAxes[0] != 0 {
		t.Fatalf("kernel %v: input axis %d, output axes %v; want [3 2 1 1], 1, [0]", m.Weights.Shape().Dimensions, m.InputAxis, m.OutputAxes)
	}
}
