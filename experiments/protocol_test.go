package experiments

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

func TestResNetWithStageWidths(t *testing.T) {
	tests := []struct {
		name           string
		widths         []int
		kernels, first int
		classifierIn   int
		wantErr        string
	}{
		{name: "resnet20", widths: PaperStageWidths(), kernels: 20, first: 6, classifierIn: 24},
		{name: "resnet56", widths: []int{6, 12, 24}, kernels: 56, first: 6, classifierIn: 24},
		{name: "fcnet", widths: []int{6, 12, 24}, wantErr: `not model "fcnet"`},
		{name: "resnet20", widths: []int{6, 12}, wantErr: "three positive"},
	}
	for _, tc := range tests {
		fn, err := ResNetWithStageWidths(tc.name, tc.widths)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %v: got %v, want an error with %q", tc.name, tc.widths, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s %v: %v", tc.name, tc.widths, err)
		}
		kernels := modelKernels(tc.name, fn)
		first, last := kernels[0], kernels[len(kernels)-1]
		if len(kernels) != tc.kernels || first[len(first)-1] != tc.first || last[0] != tc.classifierIn {
			t.Errorf("%s %v: %d kernels, first %v, classifier %v; want %d kernels, first width %d, classifier input %d",
				tc.name, tc.widths, len(kernels), first, last, tc.kernels, tc.first, tc.classifierIn)
		}
	}
}

func TestNormalizationInGraph(t *testing.T) {
	identity := func(_ *context.Context, _ any, inputs []*graph.Node) []*graph.Node { return inputs[:1] }
	fn := MNISTNormalization.wrap(identity)
	x := []float32{0, 0.1307, 1}
	out := context.MustExecOnce(testenv.Backend(), context.New(), func(ctx *context.Context, x *graph.Node) *graph.Node {
		return fn(ctx, nil, []*graph.Node{x})[0]
	}, x)
	got := out.Value().([]float32)
	for i, v := range x {
		want := (float64(v) - 0.1307) / 0.3081
		if math.Abs(float64(got[i])-want) > 1e-6 {
			t.Errorf("normalised %g = %g, want %g", v, got[i], want)
		}
	}
	if err := (Normalization{Mean: 0.1, Std: 0}).Validate(); err == nil || !strings.Contains(err.Error(), "std=0") {
		t.Errorf("std 0 must be refused, got %v", err)
	}
}

func TestPaperProtocolDesign(t *testing.T) {
	c := PaperProtocolCompareConfig()
	vs, err := c.SelectedVariants()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	want := []string{"baseline", "fuzzy", "rejuvenation", "fuzzy+rejuvenation", "Γ2", SplitStepControlName, "fuzzy+Γ2",
		"rejuvenation+Γ2", "fuzzy+rejuvenation+Γ2"}
	if !slices.Equal(names, want) {
		t.Fatalf("variants %v, want %v", names, want)
	}
	ctl := vs[5]
	if ctl.SplitStepFactor != 0.5 || ctl.Bio == nil || ctl.Bio.WeightSplittingGamma != 2 || ctl.Bio.FuzzyLearningRates || ctl.Bio.RejuvenateWeights {
		t.Errorf("control %+v: want Γ2 alone with split step factor 0.5", ctl)
	}
	b := c.Base
	if b.FuzzyLearningRateFactorNu != 0.09 || b.RejuvenationParameterDre != 14 || b.RejuvenationPeriod != 1 || b.Crystallize || b.VolumeDependentLR {
		t.Errorf("base bio config %s is not the paper's (ν 0.09, d 14 every step, crystallization and volume lr off)", b)
	}
	runs := c.runConfigs(vs)
	if len(runs) != 9*5 || c.LR != 1e-3 || c.BatchSize != 100 || c.Epochs != 200 || c.Split.SplitSeed != 0 || c.Split.ValFraction != 0.1 {
		t.Fatalf("design: %d runs, lr %g, batch %d, epochs %d, split %+v", len(runs), c.LR, c.BatchSize, c.Epochs, c.Split)
	}
	for _, r := range runs {
		if r.Normalize == nil || *r.Normalize != MNISTNormalization || r.Seed < 0 || r.Seed > 4 {
			t.Fatalf("run %s seed %d: normalize %v", r.Variant, r.Seed, r.Normalize)
		}
		if (r.SplitStepFactor == 0.5) != (r.Variant == SplitStepControlName) {
			t.Errorf("run %s: split step factor %g", r.Variant, r.SplitStepFactor)
		}
	}
	if DefaultCompareConfig().Protocol != "" || len(must(DefaultCompareConfig().SelectedVariants())) != 12 {
		t.Error("our own protocol must keep its 12 variants")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// effectiveStep is a float64 computation of one plain-SGD step on the effective network of an FCNet
// in → 2h → 10 under Γ = 2 (hidden units summed in pairs, ReLU after, the classifier unsplit): the summed
// hidden kernel U, bias c, the classifier's summed kernel V (pairs of rows) and its bias d. It returns the
// gradients of the mean cross-entropy with respect to U, c, V and d.
func effectiveStep(x [][]float64, labels []int, U [][]float64, c []float64, V [][]float64, d []float64) (dU [][]float64, dc []float64, dV [][]float64, dd []float64) {
	in, h, k, b := len(U), len(c), len(d), float64(len(x))
	dU, dc, dV, dd = zeros(in, h), make([]float64, h), zeros(h, k), make([]float64, k)
	for n, xn := range x {
		pre, act := make([]float64, h), make([]float64, h)
		for g := range h {
			pre[g] = c[g]
			for i := range in {
				pre[g] += xn[i] * U[i][g]
			}
			act[g] = math.Max(pre[g], 0)
		}
		logits, maxL := make([]float64, k), math.Inf(-1)
		for j := range k {
			logits[j] = d[j]
			for g := range h {
				logits[j] += act[g] * V[g][j]
			}
			maxL = math.Max(maxL, logits[j])
		}
		var z float64
		for j := range k {
			z += math.Exp(logits[j] - maxL)
		}
		dAct := make([]float64, h)
		for j := range k {
			dl := math.Exp(logits[j]-maxL) / z / b
			if j == labels[n] {
				dl -= 1 / b
			}
			dd[j] += dl
			for g := range h {
				dV[g][j] += act[g] * dl
				dAct[g] += V[g][j] * dl
			}
		}
		for g := range h {
			if pre[g] > 0 {
				dc[g] += dAct[g]
				for i := range in {
					dU[i][g] += xn[i] * dAct[g]
				}
			}
		}
	}
	return
}

func zeros(r, c int) [][]float64 {
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
	}
	return m
}

// TestSplitStepControl checks the claim of PaperProtocolVariants: one SGD step of the control (Γ2, split
// step factor ½) moves the summed units U = w_a + w_b, their biases and the classifier's summed kernel by
// exactly −lr·∂L/∂(summed), as a plain weight moves under the baseline's SGD (computed in float64 on the
// effective network), while Γ2 alone moves them twice as far; the classifier's bias moves by −lr·∂L/∂d in both.
func TestSplitStepControl(t *testing.T) {
	const in, hidden, lr = 5, 4, 0.5
	x := [][]float64{{0.2, -0.5, 0.9, 0.1, -0.3}, {-0.7, 0.4, 0.3, -0.2, 0.8}, {0.5, 0.5, -0.6, 0.9, 0.0}}
	labels := []int{3, 7, 3}
	xs, ys := make([]float32, 0, 15), make([]int32, 3)
	for n, row := range x {
		for _, v := range row {
			xs = append(xs, float32(v))
		}
		ys[n] = int32(labels[n])
	}
	for _, tc := range []struct {
		factor, wantMult float64 // wantMult: the summed weights' step in units of lr·gradient
	}{{0.5, 1}, {0, 2}} {
		base := PaperBioConfig()
		base.WeightSplittingGamma = 2
		cfg := RunConfig{Variant: "Γ2", Model: "fcnet", Width: hidden, Bio: &base, Seed: 1, Epochs: 1, LR: lr, BatchSize: 3,
			SplitStepFactor: tc.factor}
		tr, err := NewTrainer(cfg, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr.Context.SetRNGStateFromSeed(cfg.Seed)
		trainer := tr.Build(tr.Context)
		xT, yT := tensors.FromFlatDataAndDimensions(xs, 3, in), tensors.FromFlatDataAndDimensions(ys, 3, 1)
		if _, err := trainer.EvalStep(nil, []*tensors.Tensor{xT}, []*tensors.Tensor{yT}); err != nil { // creates the variables
			t.Fatal(err)
		}
		before := readVars(t, tr.Context)
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{xT}, []*tensors.Tensor{yT}); err != nil {
			t.Fatal(err)
		}
		after := readVars(t, tr.Context)
		U, c, V, d := summed(before, in, hidden)
		U1, c1, V1, d1 := summed(after, in, hidden)
		dU, dc, dV, dd := effectiveStep(x, labels, U, c, V, d)
		check := func(what string, got1, got0, grad []float64, mult float64) {
			for i := range grad {
				want := -lr * mult * grad[i]
				if diff := got1[i] - got0[i]; math.Abs(diff-want) > 2e-6+1e-4*math.Abs(want) {
					t.Errorf("factor %g: %s[%d] moved by %.7g, want %.7g (%g·lr·gradient)", tc.factor, what, i, diff, want, mult)
				}
			}
		}
		check("U", flat(U1), flat(U), flat(dU), tc.wantMult)
		check("c", c1, c, dc, tc.wantMult)
		check("V", flat(V1), flat(V), flat(dV), tc.wantMult)
		check("d", d1, d, dd, 1)
	}
}

// readVars returns the values of the FCNet's variables by scope suffix and name, e.g. "hidden_0/weights".
func readVars(t *testing.T, ctx *context.Context) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for v := range ctx.IterVariables() {
		for _, layer := range []string{"hidden_0", "output"} {
			if strings.HasPrefix(v.Scope(), "/"+layer+"/") && (v.Name() == "weights" || v.Name() == "biases") {
				var vals []float64
				for _, f := range tensors.MustCopyFlatData[float32](v.MustValue()) {
					vals = append(vals, float64(f))
				}
				out[layer+"/"+v.Name()] = vals
			}
		}
	}
	if len(out) != 4 {
		t.Fatalf("found variables %v, want the kernels and biases of hidden_0 and output", slices.Collect(mapKeys(out)))
	}
	return out
}

func mapKeys(m map[string][]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// summed returns the effective weights of the Γ = 2 FCNet: U[i][g] = W[i][2g] + W[i][2g+1], c[g] = b[2g] + b[2g+1],
// V[g][j] = v[2g][j] + v[2g+1][j], and the classifier bias d.
func summed(vars map[string][]float64, in, hidden int) (U [][]float64, c []float64, V [][]float64, d []float64) {
	W, b, v := vars["hidden_0/weights"], vars["hidden_0/biases"], vars["output/weights"]
	U, c, V = zeros(in, hidden/2), make([]float64, hidden/2), zeros(hidden/2, 10)
	for g := range hidden / 2 {
		for i := range in {
			U[i][g] = W[i*hidden+2*g] + W[i*hidden+2*g+1]
		}
		c[g] = b[2*g] + b[2*g+1]
		for j := range 10 {
			V[g][j] = v[(2*g)*10+j] + v[(2*g+1)*10+j]
		}
	}
	return U, c, V, vars["output/biases"]
}

func flat(m [][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}
