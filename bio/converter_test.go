package bio_test

import (
	"math"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// bioMLP is an MLP 8-hidden-3 built from biolayers, so the bio hooks (splitting, Dale, activity) apply.
func bioMLP(hidden int) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		x := biolayers.Dense(ctx.In("hidden"), inputs[0], true, hidden)
		x = activations.Relu(x)
		return []*Node{biolayers.Dense(ctx.In("out"), x, true, 3)}
	}
}

func allMechanisms() bio.Config {
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRateFactorNu = 0.09
	cfg.RejuvenationParameterDre = 14
	cfg.Crystallize = true
	cfg.VolumeDependentLR = true
	cfg.BaseLR = 1
	cfg.ScaleGrad = true
	cfg.L1Reg = true
	cfg.ApplyDalesPrinciple = true
	cfg.WeightSplittingGamma = 2
	return cfg
}

func mustConverter(t testing.TB, cfg bio.Config) *bio.Converter {
	t.Helper()
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func newTrainer(backend backends.Backend, ctx *context.Context, conv *bio.Converter, model train.ModelFn, opt optimizers.Interface) *train.Trainer {
	return train.NewTrainer(backend, ctx, conv.Convert(model), losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(opt), conv.Metrics(), nil)
}

func trainSteps(t testing.TB, trainer *train.Trainer, x, y *tensors.Tensor, n int) (first, last float64) {
	t.Helper()
	for step := range n {
		ms, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		loss := float64(ms[0].Value().(float32))
		if step == 0 {
			first = loss
		}
		last = loss
	}
	return
}

func values(t testing.TB, v *context.Variable) []float64 {
	t.Helper()
	val, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	switch val.DType() {
	case dtypes.Float32:
		for _, x := range tensors.MustCopyFlatData[float32](val) {
			out = append(out, float64(x))
		}
	case dtypes.Float64:
		out = tensors.MustCopyFlatData[float64](val)
	case dtypes.Int64:
		for _, x := range tensors.MustCopyFlatData[int64](val) {
			out = append(out, float64(x))
		}
	case dtypes.Uint64:
		for _, x := range tensors.MustCopyFlatData[uint64](val) {
			out = append(out, float64(x))
		}
	case dtypes.Bool:
		for _, x := range tensors.MustCopyFlatData[bool](val) {
			if x {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		}
	default:
		t.Fatalf("variable %s: dtype %s", v.ScopeAndName(), val.DType())
	}
	return out
}

func TestEndToEndBioLayersAllMechanisms(t *testing.T) {
	backend := newBackend(t)
	conv := mustConverter(t, allMechanisms()).RecordTelemetry()
	ctx := testenv.Context(1)
	trainer := newTrainer(backend, ctx, conv, bioMLP(32), optimizers.StochasticGradientDescent().WithLearningRate(0.3).Done())
	x, y := blobs(96, 3)
	// Every mechanism at once learns much more slowly than plain SGD on this toy problem (Dale's principle
	// with 8 mixed-sign inputs and crystallization freezing weights with large gradients cost the most):
	// plain SGD reaches ~0.01 here, all mechanisms ~0.7 after 400 steps. The test asks for a clear fall.
	first, _ := trainSteps(t, trainer, x, y, 1)
	stats, err := conv.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Rejuvenated <= 0 {
			t.Errorf("layer %s: nothing rejuvenated at the first step (d = 14)", s.Scope)
		}
	}
	_, last := trainSteps(t, trainer, x, y, 399)
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < 0.7*first) || math.IsNaN(last) {
		t.Fatalf("loss did not fall by 30%%: %.4f -> %.4f", first, last)
	}
	if stats, err = conv.Telemetry(ctx); err != nil {
		t.Fatal(err)
	}
	// Every mechanism left its mark: the factors started in [0.91, 1.09], so a factor below 0.66 was
	// crystallized; rejuvenation replaced weights (above); the activities were observed; every weight keeps
	// its input unit's sign.
	for _, s := range stats {
		t.Logf("%+v", s)
		if s.Activity <= 0 {
			t.Errorf("layer %s: no activity observed with biolayers", s.Scope)
		}
		if s.FactorMin > s.FactorMean || s.FactorMean > s.FactorMax || s.FactorMax > 1.09+1e-6 || s.FactorMin > 0.66 {
			t.Errorf("layer %s: factors %g ≤ %g ≤ %g: want ordered, ≤ 1.09, some crystallized (< 0.66)", s.Scope,
				s.FactorMin, s.FactorMean, s.FactorMax)
		}
	}
	for _, l := range conv.Layers(ctx) {
		sign := values(t, l.Signs(ctx))
		for i, w := range values(t, l.Weights) {
			if w*sign[i] < 0 {
				t.Fatalf("%s: W[%d] = %g against its input unit's sign", l.Scope, i, w)
			}
		}
	}
}

func TestLayerDiscovery(t *testing.T) {
	backend := newBackend(t)
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		x := inputs[0]                                                               // [2, 6, 4]
		a := biolayers.Dense(ctx.In("seq"), x, true, 5)                              // rank-3 input: kernel [4, 5]
		b := biolayers.Dense(ctx.In("multi"), a, false, 2, 3)                        // two output dims: kernel [5, 2, 3]
		c := biolayers.Convolution(ctx.In("c1"), a).Channels(4).KernelSize(3).Done() // 1-D conv: [3, 5, 4]
		img := Reshape(x, 2, 2, 3, 4)
		d := biolayers.Convolution(ctx.In("c2"), img).Channels(2).KernelSize(2).Done() // 2-D: [2, 2, 4, 2]
		vol := Reshape(x, 2, 2, 3, 2, 2)
		e := biolayers.Convolution(ctx.In("c3"), vol).Channels(3).KernelSize(1).Done() // 3-D: [1, 1, 1, 2, 3]
		f := layers.Dense(ctx.In("gomlx"), x, true, 2)                                 // GoMLX's own layer
		return []*Node{ReduceAllSum(b), ReduceAllSum(c), ReduceAllSum(d), ReduceAllSum(e), ReduceAllSum(f)}
	}
	cases := []struct {
		name             string
		include, exclude []string
		want             []string
	}{
		{"all", nil, nil, []string{"/c1/conv", "/c2/conv", "/c3/conv", "/gomlx/dense", "/multi/dense", "/seq/dense"}},
		{"include glob", []string{"/c*"}, nil, []string{"/c1/conv", "/c2/conv", "/c3/conv"}},
		{"include element", []string{"multi", "gomlx"}, nil, []string{"/gomlx/dense", "/multi/dense"}},
		{"exclude prefix", nil, []string{"/c2", "/seq/dense"}, []string{"/c1/conv", "/c3/conv", "/gomlx/dense", "/multi/dense"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conv := mustConverter(t, bio.DefaultConfig()).Include(tc.include...).Exclude(tc.exclude...)
			ctx := testenv.Context(269)
			exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
				return conv.Convert(model)(ctx, nil, []*Node{x})
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := exec.Exec(tensors.FromShape(shapes.Make(dtypes.Float32, 2, 6, 4))); err != nil {
				t.Fatal(err)
			}
			got := conv.LayerScopes(ctx)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("layers %v, want %v", got, tc.want)
			}
			for _, m := range conv.Layers(ctx) {
				rank := m.Weights.Shape().Rank()
				switch m.Scope {
				case "/multi/dense":
					if m.Kind != "dense" || m.InputAxis != 0 || len(m.OutputAxes) != 2 || rank != 3 {
						t.Errorf("%s: %+v", m.Scope, m)
					}
				case "/c1/conv", "/c2/conv", "/c3/conv":
					if m.Kind != "conv" || m.InputAxis != rank-2 || len(m.OutputAxes) != 1 || m.OutputAxes[0] != rank-1 {
						t.Errorf("%s: %+v", m.Scope, m)
					}
				}
			}
		})
	}
}

func TestFrozenLayerSkipped(t *testing.T) {
	backend := newBackend(t)
	conv := mustConverter(t, allMechanisms())
	ctx := testenv.Context(2)
	trainer := newTrainer(backend, ctx, conv, bioMLP(16), optimizers.StochasticGradientDescent().WithLearningRate(0.3).Done())
	x, y := blobs(48, 4)
	trainSteps(t, trainer, x, y, 1)
	frozen := ctx.GetVariableByScopeAndName("/hidden/dense", "weights")
	frozen.SetTrainable(false)
	before := values(t, frozen)
	trainer = newTrainer(backend, ctx.Reuse(), conv, bioMLP(16), optimizers.StochasticGradientDescent().WithLearningRate(0.3).Done())
	trainSteps(t, trainer, x, y, 5)
	after := values(t, frozen)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("frozen weight %d changed: %g → %g", i, before[i], after[i])
		}
	}
	if got := conv.LayerScopes(ctx); len(got) != 1 || got[0] != "/out/dense" {
		t.Fatalf("converted layers %v, want only /out/dense", got)
	}
}

func TestWeightSplitting(t *testing.T) {
	backend := newBackend(t)
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := biolayers.Dense(ctx.In("hidden"), inputs[0], true, 6)
		k := biolayers.Dense(ctx.In("keep"), inputs[0], true, 4)
		out := biolayers.Dense(ctx.In("out"), Add(h, ReduceAndKeep(k, ReduceSum, -1)), true, 4)
		return []*Node{h, k, out}
	}
	cfg := bio.DefaultConfig()
	cfg.WeightSplittingGamma = 2
	cfg.WeightSplittingActivation = "relu"
	conv := mustConverter(t, cfg).SkipWeightSplitting("keep")
	ctx := testenv.Context(336)
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
		return conv.Convert(model)(ctx, nil, []*Node{x})
	})
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions(randData32(5*8, 3), 5, 8)
	outs, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	h := tensors.MustCopyFlatData[float32](outs[0])
	for r := range 5 {
		for u := 0; u < 6; u += 2 {
			if h[r*6+u] != h[r*6+u+1] || h[r*6+u] < 0 {
				t.Fatalf("hidden row %d units %d,%d: %g, %g — want equal non-negative group sums", r, u, u+1, h[r*6+u], h[r*6+u+1])
			}
		}
	}
	// Recompute the hidden layer in float64 from its variables: relu(xW + b), summed in pairs.
	w := values(t, ctx.GetVariableByScopeAndName("/hidden/dense", "weights"))
	b := values(t, ctx.GetVariableByScopeAndName("/hidden/dense", "biases"))
	xs := tensors.MustCopyFlatData[float32](x)
	for r := range 5 {
		pre := make([]float64, 6)
		for j := range 6 {
			pre[j] = b[j]
			for i := range 8 {
				pre[j] += float64(xs[r*8+i]) * w[i*6+j]
			}
			pre[j] = math.Max(pre[j], 0)
		}
		for j := range 6 {
			want := pre[j-j%2] + pre[j-j%2+1]
			if math.Abs(float64(h[r*6+j])-want) > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("hidden[%d,%d] = %g, want %g", r, j, h[r*6+j], want)
			}
		}
	}
	for name, out := range map[string]*tensors.Tensor{"keep (skipped)": outs[1], "out (classifier)": outs[2]} {
		v := tensors.MustCopyFlatData[float32](out)
		pairs := 0
		for i := 0; i+1 < len(v); i += 2 {
			if v[i] == v[i+1] {
				pairs++
			}
		}
		if pairs == len(v)/2 {
			t.Errorf("%s layer was split", name)
		}
	}
}

func TestWeightSplittingGammaMustDivide(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.WeightSplittingGamma = 2
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(395)
	trainer := newTrainer(backend, ctx, conv, bioMLP(5), optimizers.StochasticGradientDescent().Done())
	x, y := blobs(12, 1)
	_, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
	if err == nil || !strings.Contains(err.Error(), "/hidden/dense") || !strings.Contains(err.Error(), "weight_splitting_Gamma = 2") {
		t.Fatalf("want an error naming the layer /hidden/dense and Γ, got %v", err)
	}
}

func TestDalesPrinciple(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.ApplyDalesPrinciple = true
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(5)
	trainer := newTrainer(backend, ctx, conv, bioMLP(16), optimizers.StochasticGradientDescent().WithLearningRate(0.5).Done())
	x, y := blobs(48, 2)
	check := func(when string) {
		for _, m := range conv.Layers(ctx) {
			w := values(t, m.Weights)
			sign := values(t, ctx.GetVariableByScopeAndName("/bio"+m.Scope, "dale_sign"))
			out := m.Weights.Shape().Dimensions[1]
			pos, neg := 0, 0
			for i := 0; i < len(w)/out; i++ {
				s := sign[i*out]
				if s > 0 {
					pos++
				} else {
					neg++
				}
				for j := range out {
					if sign[i*out+j] != s {
						t.Fatalf("%s %s: input unit %d has mixed signs", when, m.Scope, i)
					}
					if w[i*out+j]*s < 0 {
						t.Fatalf("%s %s: W[%d,%d] = %g against its unit's sign %g", when, m.Scope, i, j, w[i*out+j], s)
					}
				}
			}
			if pos == 0 || neg == 0 {
				t.Fatalf("%s %s: %d excitatory, %d inhibitory input units", when, m.Scope, pos, neg)
			}
		}
	}
	trainSteps(t, trainer, x, y, 1)
	check("after 1 step")
	first, last := trainSteps(t, trainer, x, y, 40)
	check("after 41 steps")
	if !(last < first) {
		t.Fatalf("loss did not fall under Dale's principle: %g → %g", first, last)
	}
}

func randData32(n int, seed uint64) []float32 {
	d := testenv.RandNormal(n, seed, 1)
	out := make([]float32, n)
	for i, v := range d {
		out[i] = float32(v)
	}
	return out
}

// linearModel is y = x·W with a biolayers kernel [4, 3] and no bias.
func linearModel(ctx *context.Context, _ any, inputs []*Node) []*Node {
	return []*Node{biolayers.Dense(ctx.In("lin"), inputs[0], false, 3)}
}

func mse(labels, predictions []*Node) *Node {
	d := Sub(predictions[0], labels[0])
	return ReduceAllMean(Mul(d, d))
}

// TestOptimizerStepMatchesReference checks one SGD step with fuzzy factors and crystallization against a
// float64 computation of the gradient, factors and update, in both factor modes.
func TestOptimizerStepMatchesReference(t *testing.T) {
	backend := newBackend(t)
	const n, in, out = 6, 4, 3
	const lr, thresh, damp = 0.1, 0.05, 0.6
	xs := testenv.RandNormal(n*in, 21, 1)
	ts := testenv.RandNormal(n*out, 22, 1)
	for _, mode := range []bio.FactorMode{bio.FactorsOnGradient, bio.FactorsOnUpdate} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := bio.DefaultConfig()
			cfg.RejuvenateWeights = false
			cfg.Crystallize = true
			cfg.CrystalThresh = thresh
			cfg.DampeningFactor = damp
			cfg.FactorMode = mode
			conv := mustConverter(t, cfg)
			ctx := testenv.Context(485)
			x := tensors.FromFlatDataAndDimensions(xs, n, in)
			// Create and initialise the kernel and its factors, to read them before the step.
			fwd, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node {
				return conv.Convert(linearModel)(ctx, nil, []*Node{x})[0]
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fwd.Exec(x); err != nil {
				t.Fatal(err)
			}
			if err := conv.CreateState(backend, ctx); err != nil {
				t.Fatal(err)
			}
			m := conv.Layers(ctx)[0]
			w0, s0 := values(t, m.Weights), values(t, m.Factors(ctx))
			trainer := train.NewTrainer(backend, ctx.Reuse(), conv.Convert(linearModel), mse,
				conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(lr).Done()), nil, nil)
			if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ts, n, out)}); err != nil {
				t.Fatal(err)
			}
			w1, s1 := values(t, m.Weights), values(t, m.Factors(ctx))

			// Reference: G = 2/(n·out)·xᵀ(xW − t).
			grad := make([]float64, in*out)
			for r := range n {
				for j := range out {
					y := 0.0
					for i := range in {
						y += xs[r*in+i] * w0[i*out+j]
					}
					d := 2 * (y - ts[r*out+j]) / float64(n*out)
					for i := range in {
						grad[i*out+j] += xs[r*in+i] * d
					}
				}
			}
			scaled := make([]float64, len(grad))
			wantW := make([]float64, len(grad))
			for k := range grad {
				scaled[k] = grad[k] * s0[k]
				wantW[k] = w0[k] - lr*scaled[k]
			}
			probe := scaled
			if mode == bio.FactorsOnUpdate {
				probe = grad
			}
			wantS, mask := bio.CrystallizeReference(s0, w0, probe, thresh, damp)
			crystallized := 0.0
			for _, v := range mask {
				crystallized += v
			}
			if crystallized == 0 || int(crystallized) == len(mask) {
				t.Fatalf("test data must crystallize some weights and not others: %v of %d", crystallized, len(mask))
			}
			t.Logf("%v of %d weights crystallized", crystallized, len(mask))
			testenv.AssertClose(t, "weights after the step", w1, wantW, 1e-5)
			testenv.AssertClose(t, "factors after crystallization", s1, wantS, 1e-6)
		})
	}
}

// TestL1StepMatchesReference checks one SGD step with L1 alone against float64: the weights move by
// lr·(G + λ·sign(W)), and the loss the trainer reports includes λ·Σ|W|. Without the wrapped optimizer, the
// step is an error naming l1_reg and what to do.
func TestL1StepMatchesReference(t *testing.T) {
	backend := newBackend(t)
	const n, in, out = 6, 4, 3
	const lr, lambda = 0.1, 0.05
	xs := testenv.RandNormal(n*in, 31, 1)
	ts := testenv.RandNormal(n*out, 32, 1)
	x, target := tensors.FromFlatDataAndDimensions(xs, n, in), tensors.FromFlatDataAndDimensions(ts, n, out)
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{L1Reg: true}
	cfg.L1Lambda = lambda
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(486)
	trainer := train.NewTrainer(backend, ctx, conv.Convert(linearModel), mse,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(lr).Done()), nil, nil)
	if _, err := trainer.EvalStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target}); err != nil { // creates W
		t.Fatal(err)
	}
	m := conv.Layers(ctx)[0]
	w0 := values(t, m.Weights)
	metrics, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target})
	if err != nil {
		t.Fatal(err)
	}
	w1 := values(t, m.Weights)

	grad := make([]float64, in*out)
	loss, l1 := 0.0, 0.0
	for r := range n {
		for j := range out {
			y := 0.0
			for i := range in {
				y += xs[r*in+i] * w0[i*out+j]
			}
			d := y - ts[r*out+j]
			loss += d * d / float64(n*out)
			for i := range in {
				grad[i*out+j] += xs[r*in+i] * 2 * d / float64(n*out)
			}
		}
	}
	wantW := make([]float64, len(w0))
	for k, w := range w0 {
		l1 += math.Abs(w)
		wantW[k] = w - lr*(grad[k]+lambda*math.Copysign(1, w))
	}
	testenv.AssertClose(t, "weights after the step", w1, wantW, 1e-5)
	var reported float64
	switch v := metrics[0].Value().(type) {
	case float64:
		reported = v
	case float32:
		reported = float64(v)
	default:
		t.Fatalf("loss metric of type %T", v)
	}
	testenv.AssertClose(t, "reported loss", []float64{reported}, []float64{loss + lambda*l1}, 1e-5)

	unwrapped := train.NewTrainer(backend, testenv.Context(486), conv.Convert(linearModel), mse,
		optimizers.StochasticGradientDescent().Done(), nil, nil)
	_, err = unwrapped.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{target})
	if err == nil || !strings.Contains(err.Error(), "l1_reg") || !strings.Contains(err.Error(), "conv.Optimizer") {
		t.Fatalf("L1 with an unwrapped optimizer: want an error naming l1_reg and conv.Optimizer, got %v", err)
	}
}

// TestConvNetAllMechanisms trains a small 2-D convolutional network with every mechanism on: the
// convolution kernels [kh, kw, in, out] get factors, Dale signs per input channel, channel splitting.
func TestConvNetAllMechanisms(t *testing.T) {
	backend := newBackend(t)
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		x := Reshape(inputs[0], -1, 2, 4, 1) // the 8 blob features as a 2×4 image
		x = activations.Relu(biolayers.Convolution(ctx.In("conv1"), x).Channels(8).KernelSize(2).PadSame().Done())
		x = biolayers.Flatten(x)
		return []*Node{biolayers.Dense(ctx.In("out"), x, true, 3)}
	}
	cfg := allMechanisms()
	cfg.ApplyDalesPrinciple = false // one input channel: Dale would force every kernel of the layer to one sign
	conv := mustConverter(t, cfg)
	ctx := testenv.Context(3)
	trainer := newTrainer(backend, ctx, conv, model, optimizers.StochasticGradientDescent().WithLearningRate(0.1).Done())
	x, y := blobs(96, 3)
	first, last := trainSteps(t, trainer, x, y, 150)
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < 0.7*first) || math.IsNaN(last) {
		t.Fatalf("loss did not fall by 30%%: %.4f -> %.4f", first, last)
	}
	scopes := conv.LayerScopes(ctx)
	if strings.Join(scopes, ",") != "/conv1/conv,/out/dense" {
		t.Fatalf("converted layers %v", scopes)
	}
	stats, err := conv.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Scope == "/conv1/conv" && (s.Activity <= 0 || s.FactorMax == s.FactorMin) {
			t.Fatalf("conv layer telemetry %+v: want observed activity and spread factors", s)
		}
	}
	// Channel splitting: the conv layer's 8 channels come in equal pairs.
	// (Both outputs are returned: the Go backend fails on graphs whose variables feed only unused nodes.)
	exec, err := context.NewExec(backend, ctx.Reuse(), func(ctx *context.Context, x *Node) []*Node {
		img := Reshape(x, -1, 2, 4, 1)
		convFn := conv.Convert(func(ctx *context.Context, _ any, in []*Node) []*Node {
			y := biolayers.Convolution(ctx.In("conv1"), in[0]).Channels(8).KernelSize(2).PadSame().Done()
			return []*Node{y, biolayers.Dense(ctx.In("out"), biolayers.Flatten(activations.Relu(y)), true, 3)}
		})
		return convFn(ctx, nil, []*Node{img})
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	v := tensors.MustCopyFlatData[float32](outs[0])
	for i := 0; i < len(v); i += 2 {
		if v[i] != v[i+1] {
			t.Fatalf("channels %d and %d of a pixel differ (%g, %g): not split", i%8, i%8+1, v[i], v[i+1])
		}
	}
}
