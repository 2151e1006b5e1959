package bio_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/internal/testenv"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// snapshot copies every variable's value, by scope and name.
func snapshot(t *testing.T, ctx *context.Context) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for v := range ctx.IterVariables() {
		if v.HasValue() && !strings.HasPrefix(v.Scope(), "/metrics") { // metric names carry random ids
			out[v.ScopeAndName()] = values(t, v)
		}
	}
	return out
}

func assertSameState(t *testing.T, what string, a, b map[string][]float64) {
	t.Helper()
	if len(a) != len(b) {
		for name := range a {
			if _, ok := b[name]; !ok {
				t.Logf("only in the first: %s", name)
			}
		}
		for name := range b {
			if _, ok := a[name]; !ok {
				t.Logf("only in the second: %s", name)
			}
		}
		t.Fatalf("%s: %d vs %d variables", what, len(a), len(b))
	}
	for name, va := range a {
		vb, ok := b[name]
		if !ok {
			t.Fatalf("%s: variable %s missing", what, name)
		}
		for i := range va {
			if va[i] != vb[i] && !(math.IsNaN(va[i]) && math.IsNaN(vb[i])) {
				t.Fatalf("%s: %s[%d] = %g vs %g", what, name, i, va[i], vb[i])
			}
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	backend := newBackend(t)
	cfg := allMechanisms()
	cfg.FuzzyLRDistribution = bio.Activity
	cfg.FuzzyLRDynamic = true
	cfg.FuzzyLRUpdateFreq = 2
	x, y := blobs(48, 5)
	adam := func() optimizers.Interface { return optimizers.Adam().LearningRate(0.01).Done() }

	ctx1 := testenv.Context(3)
	conv1 := mustConverter(t, cfg)
	trainer1 := newTrainer(backend, ctx1, conv1, bioMLP(16), adam())
	trainSteps(t, trainer1, x, y, 3)
	dir := t.TempDir()
	h1, err := checkpoints.Build(ctx1).Dir(dir).Done()
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.Save(); err != nil {
		t.Fatal(err)
	}
	saved := snapshot(t, ctx1)
	for _, name := range []string{"/bio/hidden/dense/fuzzy_factors", "/bio/hidden/dense/dale_sign", "/bio/hidden/dense/activity", "/bio/hidden/dense/rng_state"} {
		if _, ok := saved[name]; !ok {
			t.Fatalf("state variable %s not in the context", name)
		}
	}

	ctx2 := context.New()
	if _, err := checkpoints.Build(ctx2).Dir(dir).Done(); err != nil {
		t.Fatal(err)
	}
	conv2 := mustConverter(t, cfg)
	trainer2 := newTrainer(backend, ctx2.Reuse(), conv2, bioMLP(16), adam())
	// One more step in both: the resumed context must do exactly what the original does.
	trainSteps(t, trainer1, x, y, 1)
	trainSteps(t, trainer2, x, y, 1)
	after1, after2 := snapshot(t, ctx1), snapshot(t, ctx2)
	// The model's own RNG state is only used by the initializers: the loaded context leaves it in the
	// checkpoint loader until something asks for it.
	if _, ok := after2["/#rngState"]; !ok {
		delete(after1, "/#rngState")
	}
	assertSameState(t, "next step after loading", after1, after2)
	changed := 0
	for name, v := range after1 {
		if s, ok := saved[name]; ok && len(s) == len(v) {
			for i := range v {
				if v[i] != s[i] {
					changed++
					break
				}
			}
		}
	}
	if changed < 5 {
		t.Fatalf("only %d variables changed in the step after loading", changed)
	}
	for v := range ctx2.IterVariables() {
		name := v.ScopeAndName()
		if v.Trainable && (strings.HasPrefix(name, "/bio/") || strings.Contains(name, "rngState") || strings.Contains(name, "moment")) {
			t.Errorf("state variable %s is trainable after loading", name)
		}
	}
}

func TestReproducibleFromSeed(t *testing.T) {
	backend := newBackend(t)
	x, y := blobs(48, 6)
	runOnce := func(bioSeed int64) map[string][]float64 {
		cfg := allMechanisms()
		cfg.Seed = bioSeed
		ctx := testenv.Context(11)
		trainer := newTrainer(backend, ctx, mustConverter(t, cfg), bioMLP(16), optimizers.StochasticGradientDescent().WithLearningRate(0.2).Done())
		trainSteps(t, trainer, x, y, 5)
		return snapshot(t, ctx)
	}
	a, b, c := runOnce(7), runOnce(7), runOnce(8)
	assertSameState(t, "same seed", a, b)
	name := "/bio/hidden/dense/fuzzy_factors"
	same := 0
	for i := range a[name] {
		if a[name][i] == c[name][i] {
			same++
		}
	}
	if same > len(a[name])/10 {
		t.Fatalf("a different bio seed left %d of %d factors equal", same, len(a[name]))
	}
}

// TestLowMemorySameResults: the low-memory schedule (stages one after another) gives bit for bit the state
// of the default schedule — with every mechanism, with the reference's loop under Adam (whose moments
// rejuvenation clears) and with a hidden kernel of 2¹⁶ weights (which the Go backend splits into halves, μ
// too with LowMemory), and with crystallization followed by dynamic Temporal factors, which must read the
// dampened factors in both.
func TestLowMemorySameResults(t *testing.T) {
	backend := newBackend(t)
	x, y := blobs(48, 6)
	referenceLoop := bio.DefaultConfig()
	referenceLoop.Mechanisms = bio.Mechanisms{FuzzyLearningRates: true, Crystallize: true, VolumeDependentLR: true,
		RejuvenateWeights: true}
	referenceLoop.RejuvenationParameterDre, referenceLoop.BaseLR, referenceLoop.CrystalThresh = 4, 1, 0.05
	dynamic := bio.DefaultConfig()
	dynamic.Mechanisms = bio.Mechanisms{FuzzyLearningRates: true, Crystallize: true}
	dynamic.FuzzyLRDynamic = true
	dynamic.FuzzyLRDistribution, dynamic.FuzzyLRUpdateFreq, dynamic.FuzzyLRDecay = bio.Temporal, 1, 0.5
	dynamic.CrystalThresh = 0.05
	all := allMechanisms()
	all.CrystalThresh = 0.05
	sgd := func() optimizers.Interface {
		return optimizers.StochasticGradientDescent().WithLearningRate(0.2).Done()
	}
	for _, tc := range []struct {
		name   string
		cfg    bio.Config
		opt    func() optimizers.Interface
		hidden int
	}{
		{"all mechanisms", all, sgd, 16},
		{"reference's loop under Adam", referenceLoop, func() optimizers.Interface { return optimizers.Adam().Done() }, 16},
		{"reference's loop, kernel in halves", referenceLoop, sgd, 1 << 13}, // the 8 features × 2¹³ units
		{"crystallize then Temporal decay", dynamic, sgd, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(lowMemory bool) map[string][]float64 {
				conv := mustConverter(t, tc.cfg)
				if lowMemory {
					conv.LowMemory()
				}
				ctx := testenv.Context(11)
				trainSteps(t, newTrainer(backend, ctx, conv, bioMLP(tc.hidden), tc.opt()), x, y, 4)
				return snapshot(t, ctx)
			}
			parallel, sequential := run(false), run(true)
			assertSameState(t, "LowMemory against the default schedule", sequential, parallel)
			// Only crystallization takes a factor below the spread of the initial draw, 1 − ν.
			if lowest := slices.Min(parallel["/bio/hidden/dense/fuzzy_factors"]); lowest >= 1-tc.cfg.FuzzyLearningRateFactorNu {
				t.Fatalf("lowest factor %g: nothing crystallized, the test must exercise it", lowest)
			}
		})
	}
}

// maxDiff is the largest absolute difference between the kernels of two contexts.
func maxDiff(t *testing.T, a, b map[string][]float64) float64 {
	d := 0.0
	for name, va := range a {
		if !strings.HasSuffix(name, "/weights") || strings.HasPrefix(name, "/bio") || strings.Contains(name, "Optimizer") {
			continue
		}
		for i := range va {
			d = max(d, math.Abs(va[i]-b[name][i]))
		}
	}
	return d
}

// TestFactorModesUnderAdam shows why factor_mode exists: under Adam, constant per-weight factors on the
// gradient (the reference's semantics) cancel out, while factors on the update act as per-weight learning
// rates. Under SGD both act.
func TestFactorModesUnderAdam(t *testing.T) {
	backend := newBackend(t)
	x, y := blobs(60, 8)
	train := func(fuzzy bool, mode bio.FactorMode, opt optimizers.Interface) map[string][]float64 {
		cfg := bio.DefaultConfig()
		cfg.RejuvenateWeights = false
		cfg.FuzzyLearningRates = fuzzy
		cfg.FactorMode = mode
		ctx := testenv.Context(4)
		trainer := newTrainer(backend, ctx, mustConverter(t, cfg), bioMLP(16), opt)
		trainSteps(t, trainer, x, y, 50)
		return snapshot(t, ctx)
	}
	adam := func() optimizers.Interface { return optimizers.Adam().LearningRate(0.01).Done() }
	sgd := func() optimizers.Interface {
		return optimizers.StochasticGradientDescent().WithLearningRate(0.1).Done()
	}
	plainAdam := train(false, bio.FactorsOnGradient, adam())
	gradAdam := train(true, bio.FactorsOnGradient, adam())
	updateAdam := train(true, bio.FactorsOnUpdate, adam())
	plainSGD := train(false, bio.FactorsOnGradient, sgd())
	gradSGD := train(true, bio.FactorsOnGradient, sgd())
	dGradAdam, dUpdateAdam, dGradSGD := maxDiff(t, plainAdam, gradAdam), maxDiff(t, plainAdam, updateAdam), maxDiff(t, plainSGD, gradSGD)
	t.Logf("max weight difference after 50 steps: Adam gradient-mode %.2e, Adam update-mode %.2e, SGD gradient-mode %.2e",
		dGradAdam, dUpdateAdam, dGradSGD)
	if dGradAdam > 1e-3 {
		t.Errorf("under Adam, factors on the gradient should (nearly) cancel: difference %g", dGradAdam)
	}
	if dUpdateAdam < 10*dGradAdam || dUpdateAdam < 1e-3 {
		t.Errorf("under Adam, factors on the update should act: difference %g (gradient mode %g)", dUpdateAdam, dGradAdam)
	}
	if dGradSGD < 1e-3 {
		t.Errorf("under SGD, factors on the gradient should act: difference %g", dGradSGD)
	}
}

func TestInvalidConfigLeavesConverterUnchanged(t *testing.T) {
	bad := bio.DefaultConfig()
	bad.DampeningFactor = 1.5
	if _, err := bio.NewConverter(bad); err == nil || !strings.Contains(err.Error(), "dampening_factor") {
		t.Fatalf("NewConverter: want an error naming dampening_factor, got %v", err)
	}
	if _, err := bio.FromDict(map[string]any{"fuzzy_learning_rate_factor_nuu": 0.1}); err == nil ||
		!strings.Contains(err.Error(), "fuzzy_learning_rate_factor_nuu") {
		t.Fatalf("FromDict: want an error naming the unknown key, got %v", err)
	}
	conv, err := bio.FromDict(map[string]any{"fuzzy_learning_rate_factor_nu": 0.09, "weight_splitting_Gamma": 2})
	if err != nil {
		t.Fatal(err)
	}
	before := conv.Config()
	if before.FuzzyLearningRateFactorNu != 0.09 || before.WeightSplittingGamma != 2 {
		t.Fatalf("FromDict did not apply the values: %+v", before)
	}
	for _, m := range []map[string]any{
		{"crystal_thresh": -1.0},
		{"rejuvenation_period": 0},
		{"base_lr": math.NaN()},
		{"fuzzy_lr_distribution": "zipf"},
		{"dampening_factor": 0.5, "no_such_key": 1},
	} {
		if err := conv.UpdateConfig(m); err == nil {
			t.Errorf("UpdateConfig(%v): no error", m)
		}
		if conv.Config() != before {
			t.Fatalf("UpdateConfig(%v) failed but changed the configuration", m)
		}
	}
	if err := conv.UpdateConfig(map[string]any{"dampening_factor": 0.5}); err != nil || conv.Config().DampeningFactor != 0.5 {
		t.Fatalf("valid UpdateConfig: err %v, dampening %g", err, conv.Config().DampeningFactor)
	}
}

func TestModelLevelOperations(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.RejuvenateWeights = false
	conv := mustConverter(t, cfg)
	if err := conv.RejuvenateWeights(backend, context.New()); err == nil || !strings.Contains(err.Error(), "no converted layers") {
		t.Fatalf("empty context: want an error, got %v", err)
	}
	ctx := testenv.Context(9)
	trainer := newTrainer(backend, ctx, conv, bioMLP(16), optimizers.StochasticGradientDescent().Done())
	x, y := blobs(30, 9)
	trainSteps(t, trainer, x, y, 1)
	m := conv.Layers(ctx)[0]
	w0 := values(t, m.Weights)

	if err := conv.UpdateConfig(map[string]any{"rejuvenation_parameter_dre": 2.0}); err != nil {
		t.Fatal(err)
	}
	if err := conv.RejuvenateWeights(backend, ctx); err != nil {
		t.Fatal(err)
	}
	w1 := values(t, m.Weights)
	changed := 0
	maxAbs := 0.0
	for i := range w0 {
		maxAbs = max(maxAbs, math.Abs(w0[i]))
		if w0[i] != w1[i] {
			changed++
		}
	}
	if changed == 0 || changed == len(w0) {
		t.Fatalf("rejuvenation replaced %d of %d weights", changed, len(w0))
	}
	for i := range w1 {
		if math.Abs(w1[i]) > maxAbs*(1+1e-6) {
			t.Fatalf("replacement %g outside [−max|W|, max|W|] = ±%g", w1[i], maxAbs)
		}
	}

	if err := conv.DalianNetworkInitialization(backend, ctx); err != nil {
		t.Fatal(err)
	}
	sign := values(t, m.Signs(ctx))
	w2 := values(t, m.Weights)
	for i := range w2 {
		if w2[i] != math.Abs(w1[i])*sign[i] {
			t.Fatalf("Dale init: W[%d] = %g, want |%g|·%g", i, w2[i], w1[i], sign[i])
		}
	}
	trainSteps(t, trainer, x, y, 3) // plain steps (Dale off in the optimizer) break the signs again
	if err := conv.EnforceDalesPrinciple(backend, ctx); err != nil {
		t.Fatal(err)
	}
	for i, v := range values(t, m.Weights) {
		if v*sign[i] < 0 {
			t.Fatalf("after EnforceDalesPrinciple W[%d] = %g has the wrong sign", i, v)
		}
	}
}

// TestTelemetryMetrics checks the recorded fraction of rejuvenated weights against its expectation from
// the weights before the step, Σ erfc(|W|·d/(m·√2))/n per layer, and that the training metrics report the
// layer means of the telemetry.
func TestTelemetryMetrics(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.RejuvenationParameterDre = 2 // replaces a visible fraction every step
	cfg.ScaleGrad = true
	conv := mustConverter(t, cfg).RecordTelemetry()
	ctx := testenv.Context(406)
	x, y := blobs(30, 10)
	model := conv.Convert(bioMLP(64))
	build, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node { return model(ctx, nil, []*Node{x})[0] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build.Exec(x); err != nil {
		t.Fatal(err)
	}
	expected := map[string]float64{}
	for _, l := range conv.Layers(ctx) {
		w := values(t, l.Weights)
		m := 0.0
		for _, v := range w {
			m = max(m, math.Abs(v))
		}
		for _, v := range w {
			expected[l.Scope] += math.Erfc(math.Abs(v)*cfg.RejuvenationParameterDre/(m*math.Sqrt2)) / float64(len(w))
		}
	}
	trainer := train.NewTrainer(backend, ctx.Reuse(), model, losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().Done()), conv.Metrics(), nil)
	ms, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := conv.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range stats {
		p, n := expected[l.Scope], float64(len(values(t, ctx.GetVariableByScopeAndName(l.Scope, "weights"))))
		if tol := 5 * math.Sqrt(p*(1-p)/n); math.Abs(l.Rejuvenated-p) > tol || p < 0.05 {
			t.Errorf("%s: rejuvenated fraction %g, want %g ± %g", l.Scope, l.Rejuvenated, p, tol)
		}
	}
	byName := map[string]float64{}
	for i, m := range trainer.TrainMetrics() {
		if strings.HasPrefix(m.Name(), "bio_") {
			byName[m.Name()] = float64(ms[i].Value().(float32))
		}
	}
	mean := func(f func(bio.LayerStats) float64) float64 {
		s := 0.0
		for _, l := range stats {
			s += f(l)
		}
		return s / float64(len(stats))
	}
	want := map[string]float64{
		"bio_rejuvenated":  mean(func(l bio.LayerStats) float64 { return l.Rejuvenated }),
		"bio_crystallized": 0,
		"bio_factor_mean":  mean(func(l bio.LayerStats) float64 { return l.FactorMean }),
		"bio_factor_min":   mean(func(l bio.LayerStats) float64 { return l.FactorMin }),
		"bio_factor_max":   mean(func(l bio.LayerStats) float64 { return l.FactorMax }),
		"bio_activity":     mean(func(l bio.LayerStats) float64 { return l.Activity }),
	}
	for name, w := range want {
		got, ok := byName[name]
		if !ok || math.Abs(got-w) > 1e-5*(1+math.Abs(w)) {
			t.Errorf("metric %s = %g (present %v), want %g", name, got, ok, w)
		}
	}
	if a := byName["bio_activity"]; a <= 0 {
		t.Errorf("activity %g, want > 0 after one observed step", a)
	}
}

// TestLayerOrderDoesNotChangeDraws builds the same model in two contexts whose variables were created in
// opposite orders (as a checkpoint loader may list them): every draw must land on the same layer.
func TestLayerOrderDoesNotChangeDraws(t *testing.T) {
	backend := newBackend(t)
	x, y := blobs(48, 13)
	cfg := allMechanisms()
	sgd := func() optimizers.Interface {
		return optimizers.StochasticGradientDescent().WithLearningRate(0.2).Done()
	}
	ctx1 := testenv.Context(2)
	trainer1 := newTrainer(backend, ctx1, mustConverter(t, cfg), bioMLP(16), sgd())
	if err := ctx1.InitializeVariables(backend, nil); err != nil {
		t.Fatal(err)
	}
	// Build the graph (creating every variable) without training, then copy the model in reverse order.
	if _, err := trainer1.EvalStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
		t.Fatal(err)
	}
	var vars []*context.Variable
	for v := range ctx1.IterVariables() {
		if strings.HasSuffix(v.Scope(), "/dense") {
			vars = append(vars, v)
		}
	}
	ctx2 := context.New()
	for i := len(vars) - 1; i >= 0; i-- {
		v := vars[i]
		clone, err := v.MustValue().LocalClone()
		if err != nil {
			t.Fatal(err)
		}
		ctx2.InAbsPath(v.Scope()).VariableWithValue(v.Name(), clone)
	}
	trainer2 := newTrainer(backend, ctx2.Reuse(), mustConverter(t, cfg), bioMLP(16), sgd())
	trainSteps(t, trainer1, x, y, 3)
	trainSteps(t, trainer2, x, y, 3)
	for _, v := range vars {
		a := values(t, v)
		b := values(t, ctx2.GetVariableByScopeAndName(v.Scope(), v.Name()))
		testenv.AssertClose(t, v.ScopeAndName(), b, a, 0)
	}
}
