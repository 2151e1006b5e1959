package inversion

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

func newBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := simplego.New(BackendConfig)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tinyMLP is features → 8 → 3 with ReLU, built from biolayers.
func tinyMLP(ctx *context.Context, _ any, inputs []*Node) []*Node {
	h := activations.Relu(biolayers.Dense(ctx.In("fc1"), inputs[0], true, 8))
	return []*Node{biolayers.Dense(ctx.In("fc2"), h, true, 3)}
}

// tinyShape is the image layout of the tests: 4×4, one channel.
var tinyShape = [3]int{4, 4, 1}

func tinyConfig() Config {
	c := DefaultConfig()
	c.ImageShape = tinyShape
	c.Iterations = 400
	c.TotalVariation = 0
	return c
}

// victim creates and initialises a tiny MLP (plain or converted) in a fresh context.
func victim(t *testing.T, b backends.Backend, conv *bio.Converter, dtypeSample *tensors.Tensor) Victim {
	t.Helper()
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(5))
	model := tinyMLP
	if conv != nil {
		model = conv.Convert(tinyMLP)
	}
	// One forward pass creates and initialises the variables.
	if _, err := context.ExecOnce(b, ctx, func(ctx *context.Context, x *Node) *Node {
		return model(ctx, nil, []*Node{x})[0]
	}, dtypeSample); err != nil {
		t.Fatal(err)
	}
	if conv != nil {
		// The fuzzy factors are created by the optimizer's first step; make them exist for ObserveUpdate.
		if err := conv.CreateState(b, ctx); err != nil {
			t.Fatal(err)
		}
	}
	return Victim{Backend: b, Context: ctx, Model: model, Converter: conv}
}

func randImages[T float32 | float64](batch int, seed uint64) (*tensors.Tensor, []T) {
	rng := rand.New(rand.NewPCG(seed, 7))
	f := tinyShape[0] * tinyShape[1] * tinyShape[2]
	x := make([]T, batch*f)
	for i := range x {
		x[i] = T(rng.Float64())
	}
	return tensors.FromFlatDataAndDimensions(x, batch, f), x
}

func labelsOf(ls ...int32) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(ls, len(ls), 1)
}

// TestObjectiveGradient checks the second-order gradient of the cosine objective with respect to the dummy
// images against central finite differences of the objective, in float64, and that the objective is 0 at
// the true images and in [0, 2] elsewhere.
func TestObjectiveGradient(t *testing.T) {
	b := newBackend(t)
	xTrue, _ := randImages[float64](2, 1)
	v := victim(t, b, nil, xTrue)
	a, err := NewAttack(v, tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	labels := labelsOf(0, 2)
	observed, err := a.Observe(xTrue, labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(observed) != 4 { // two kernels, two biases
		t.Fatalf("observed %d gradients, want 4", len(observed))
	}
	if obj, _, err := a.Objective(xTrue, labels, observed); err != nil || math.Abs(obj) > 1e-12 {
		t.Fatalf("objective at the true images: %g (%v), want 0", obj, err)
	}
	xDummy, xs := randImages[float64](2, 2)
	obj, grad, err := a.Objective(xDummy, labels, observed)
	if err != nil {
		t.Fatal(err)
	}
	if !(obj > 0 && obj <= 2) {
		t.Fatalf("objective %g outside (0, 2]", obj)
	}
	const h = 1e-6
	worst := 0.0
	for i := range xs {
		eval := func(d float64) float64 {
			p := append([]float64(nil), xs...)
			p[i] += d
			o, _, err := a.Objective(tensors.FromFlatDataAndDimensions(p, 2, len(xs)/2), labels, observed)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		fd := (eval(h) - eval(-h)) / (2 * h)
		worst = max(worst, math.Abs(fd-grad[i])/(1e-6+math.Abs(fd)))
		if math.Abs(fd-grad[i]) > 1e-6+1e-4*math.Abs(fd) {
			t.Errorf("∂objective/∂x[%d] = %g, finite differences %g", i, grad[i], fd)
		}
	}
	t.Logf("worst relative error of the gradient: %.2g", worst)
}

// TestReconstructsFromGradient checks that the attack recovers the images of a small network from their
// plain gradient: the matched reconstructions are far closer to the originals than the random start is.
func TestReconstructsFromGradient(t *testing.T) {
	b := newBackend(t)
	for _, batch := range []int{1, 2} {
		xTrue, xs := randImages[float32](batch, 11)
		v := victim(t, b, nil, xTrue)
		cfg := tinyConfig()
		a, err := NewAttack(v, cfg)
		if err != nil {
			t.Fatal(err)
		}
		labels := labelsOf([]int32{1, 2}[:batch]...)
		observed, err := a.Observe(xTrue, labels)
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Reconstruct(labels, observed)
		if err != nil {
			t.Fatal(err)
		}
		_, mse, err := Match(xs, res.Images, batch)
		if err != nil {
			t.Fatal(err)
		}
		// A uniform random guess has an expected MSE of 1/6 against uniform images.
		for i, m := range mse {
			t.Logf("batch %d image %d: MSE %.2g (PSNR %.1f dB), best objective %.2g at iteration %d", batch, i, m, PSNR(m, 1), res.BestObjective, res.BestIteration)
			if m > 0.01 {
				t.Errorf("batch %d image %d: reconstruction MSE %.3g, want < 0.01 (random: ~0.17)", batch, i, m)
			}
		}
		if !(res.BestObjective < 1e-3) || res.Curve[0] <= res.BestObjective {
			t.Errorf("batch %d: objective %v → best %g did not fall below 1e-3", batch, res.Curve[0], res.BestObjective)
		}
	}
}

// TestObserveUpdate checks the two observations: the fuzzy update differs from the gradient by exactly the
// layer's factors, and without fuzzy learning rates the two are the same.
func TestObserveUpdate(t *testing.T) {
	b := newBackend(t)
	xTrue, _ := randImages[float32](2, 3)
	labels := labelsOf(0, 1)
	for _, fuzzy := range []bool{true, false} {
		cfg := bio.DefaultConfig()
		cfg.FuzzyLearningRates = fuzzy
		cfg.RejuvenateWeights, cfg.Crystallize = false, false
		conv, err := bio.NewConverter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		v := victim(t, b, conv, xTrue)
		obs := map[Observation][]*tensors.Tensor{}
		for _, o := range []Observation{ObserveGradient, ObserveUpdate} {
			c := tinyConfig()
			c.Observe = o
			a, err := NewAttack(v, c)
			if err != nil {
				t.Fatal(err)
			}
			if obs[o], err = a.Observe(xTrue, labels); err != nil {
				t.Fatal(err)
			}
		}
		factors := map[string][]float32{}
		for _, m := range conv.Layers(v.Context) {
			factors[m.Scope] = tensors.MustCopyFlatData[float32](m.Factors(v.Context).MustValue())
		}
		i := 0
		for va := range v.Context.IterVariables() {
			if !va.Trainable || va.Name() != "weights" && va.Name() != "biases" {
				continue
			}
			g := tensors.MustCopyFlatData[float32](obs[ObserveGradient][i])
			u := tensors.MustCopyFlatData[float32](obs[ObserveUpdate][i])
			s, isKernel := factors[va.Scope()]
			for k := range g {
				want := g[k]
				if fuzzy && va.Name() == "weights" && isKernel {
					want = g[k] * s[k]
				}
				if math.Abs(float64(u[k]-want)) > 1e-7 {
					t.Fatalf("fuzzy=%v %s/%s[%d]: update %g, want %g", fuzzy, va.Scope(), va.Name(), k, u[k], want)
				}
			}
			i++
		}
		if i != 4 {
			t.Fatalf("checked %d variables, want 4", i)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		set   func(c *Config)
	}{
		{"iterations", func(c *Config) { c.Iterations = 0 }},
		{"learning_rate", func(c *Config) { c.LearningRate = math.NaN() }},
		{"total_variation", func(c *Config) { c.TotalVariation = -1 }},
		{"min", func(c *Config) { c.Min, c.Max = 1, 0 }},
		{"image_shape", func(c *Config) { c.ImageShape = [3]int{28, 0, 1} }},
		{"observe", func(c *Config) { c.Observe = "weights" }},
	} {
		c := DefaultConfig()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want an error naming it", tc.field, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t)
	x, _ := randImages[float32](1, 1)
	v := victim(t, b, nil, x)
	// Without a converter the update is the gradient.
	c := tinyConfig()
	c.Observe = ObserveUpdate
	up, err := NewAttack(v, c)
	if err != nil {
		t.Fatalf("observe=update without a converter: %v", err)
	}
	a, err := NewAttack(v, tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	gu, err := up.Observe(x, labelsOf(0))
	if err != nil {
		t.Fatal(err)
	}
	gg, err := a.Observe(x, labelsOf(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range gg {
		if fmt.Sprint(gu[i].Value()) != fmt.Sprint(gg[i].Value()) {
			t.Fatalf("observation %d: update %v differs from gradient %v without a converter", i, gu[i].Value(), gg[i].Value())
		}
	}
	wrong := tensors.FromFlatDataAndDimensions(make([]float32, 10), 1, 10)
	if _, err := a.Observe(wrong, labelsOf(0)); err == nil || !strings.Contains(err.Error(), "[batch, 16]") {
		t.Errorf("wrong feature count: %v", err)
	}
	if _, err := a.Observe(x, labelsOf(0, 1)); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("wrong label count: %v", err)
	}
}

// TestTotalVariation checks the TV prior and its gradient against a direct float64 computation and finite
// differences.
func TestTotalVariation(t *testing.T) {
	shape := [3]int{3, 4, 2}
	const batch = 2
	rng := rand.New(rand.NewPCG(4, 4))
	x := make([]float32, batch*3*4*2)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	grad := make([]float64, len(x))
	got := TotalVariation(x, batch, shape, grad)
	// Direct: indices as [b][i][j][k].
	at := func(b, i, j, k int) float64 { return float64(x[((b*3+i)*4+j)*2+k]) }
	var sh, sv float64
	for b := range batch {
		for i := range 3 {
			for j := range 4 {
				for k := range 2 {
					if j < 3 {
						sh += math.Abs(at(b, i, j+1, k) - at(b, i, j, k))
					}
					if i < 2 {
						sv += math.Abs(at(b, i+1, j, k) - at(b, i, j, k))
					}
				}
			}
		}
	}
	want := sh/float64(batch*3*3*2) + sv/float64(batch*2*4*2)
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("TV %g, want %g", got, want)
	}
	const h = 1e-3 // float32 inputs; TV is piecewise linear, so central differences are exact away from kinks
	for i := range x {
		p := append([]float32(nil), x...)
		p[i] += h
		up := TotalVariation(p, batch, shape, nil)
		p[i] -= 2 * h
		down := TotalVariation(p, batch, shape, nil)
		fd := (up - down) / (2 * h)
		if math.Abs(fd-grad[i]) > 1e-3 {
			t.Errorf("∂TV/∂x[%d] = %g, finite differences %g", i, grad[i], fd)
		}
	}
}

func TestMatch(t *testing.T) {
	// Three 2-pixel images, reconstructed in the order 2, 0, 1 with small errors.
	orig := []float32{0, 0, 1, 1, 0.5, 0}
	rec := []float32{0.5, 0.1, 0, 0.1, 1, 0.9}
	perm, mse, err := Match(orig, rec, 3)
	if err != nil {
		t.Fatal(err)
	}
	if perm[0] != 1 || perm[1] != 2 || perm[2] != 0 {
		t.Fatalf("perm %v, want [1 2 0]", perm)
	}
	for i, want := range []float64{0.005, 0.005, 0.005} {
		if math.Abs(mse[i]-want) > 1e-7 {
			t.Errorf("mse[%d] = %g, want %g", i, mse[i], want)
		}
	}
	// The exact and the greedy assignment agree where the closest pairs are the best assignment.
	if g := greedyAssignment([][]float64{{1, 0.1, 2}, {0.2, 3, 3}, {4, 4, 0.3}}); g[0] != 1 || g[1] != 0 || g[2] != 2 {
		t.Errorf("greedy %v", g)
	}
	// The exact assignment beats greedy where greedy is fooled.
	cost := [][]float64{{0, 1}, {0.1, 10}}
	if p := bestAssignment(cost); p[0] != 1 || p[1] != 0 {
		t.Errorf("best assignment %v, want [1 0]", p)
	}
	if _, _, err := Match(orig, rec[:4], 3); err == nil {
		t.Error("mismatched lengths: want an error")
	}
	if got := PSNR(0.01, 1); math.Abs(got-20) > 1e-12 {
		t.Errorf("PSNR(0.01) = %g, want 20", got)
	}
}
