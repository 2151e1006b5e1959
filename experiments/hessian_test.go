package experiments

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// TestLanczosQuadratic: the Hessian of the quadratic ½·xᵀAx is A; with A = Q·diag(λ)·Qᵀ (Q a random
// orthogonal matrix) the extremes must be λ's, exactly with n iterations and closely with fewer when they
// are well separated.
func TestLanczosQuadratic(t *testing.T) {
	const n = 40
	rng := rand.New(rand.NewPCG(3, 4))
	lambda := make([]float64, n)
	for i := range lambda {
		lambda[i] = -0.5 + 2*rng.Float64() // the bulk in [-0.5, 1.5]
	}
	lambda[0], lambda[1] = -3, 9 // separated extremes
	raw := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			raw.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(raw)
	var q mat.Dense
	qr.QTo(&q)
	var a mat.Dense
	a.Mul(&q, mat.NewDiagDense(n, lambda))
	a.Mul(&a, q.T())
	apply := func(v, out []float64) error {
		mat.NewVecDense(n, out).MulVec(&a, mat.NewVecDense(n, v))
		return nil
	}
	for _, tc := range []struct {
		iterations int
		tol        float64
	}{{n, 1e-9}, {25, 1e-6}} {
		s, err := LanczosExtremes(n, tc.iterations, 1, apply)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s.Min+3) > tc.tol || math.Abs(s.Max-9) > tc.tol {
			t.Errorf("%d iterations: min %g, max %g; want -3, 9 (±%g)", tc.iterations, s.Min, s.Max, tc.tol)
		}
	}
	if _, err := LanczosExtremes(0, 5, 1, apply); err == nil || !strings.Contains(err.Error(), "n=0") {
		t.Errorf("n=0: got %v", err)
	}
	if _, err := LanczosExtremes(5, 0, 1, apply); err == nil || !strings.Contains(err.Error(), "iterations=0") {
		t.Errorf("iterations=0: got %v", err)
	}
}

// TestHessianOfTinyNetwork compares the spectrum that Lanczos finds with the Hessian-vector products of
// a tiny FCNet (3 → 4 → 10, 66 parameters, two batches) with the eigenvalues of its explicit Hessian: central
// finite differences of the float64 gradient (effectiveStep), eigenvalues by gonum's mat.EigenSym.
func TestHessianOfTinyNetwork(t *testing.T) {
	const in, hidden, batch = 3, 4, 4
	rng := rand.New(rand.NewPCG(8, 9))
	var x [][]float64
	var labels []int
	var inputs, labelTs []*tensors.Tensor
	for range 2 {
		xs, ys := make([]float32, 0, batch*in), make([]int32, batch)
		for j := range batch {
			row := make([]float64, in)
			for i := range row {
				row[i] = rng.NormFloat64()
				xs = append(xs, float32(row[i]))
			}
			ys[j] = int32(rng.IntN(10))
			x, labels = append(x, row), append(labels, int(ys[j]))
		}
		inputs = append(inputs, tensors.FromFlatDataAndDimensions(xs, batch, in))
		labelTs = append(labelTs, tensors.FromFlatDataAndDimensions(ys, batch, 1))
	}
	tr, err := NewTrainer(RunConfig{Variant: "hessian", Model: "fcnet", Width: hidden, Seed: 1, Epochs: 1, LR: 0.1, BatchSize: batch}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Context.SetRNGStateFromSeed(1)
	op, err := NewHessianOperator(tr, inputs, labelTs)
	if err != nil {
		t.Fatal(err)
	}
	vars := readVars(t, tr.Context)
	theta := slices.Concat(vars["hidden_0/weights"], vars["hidden_0/biases"], vars["output/weights"], vars["output/biases"])
	if op.N != len(theta) {
		t.Fatalf("operator dimension %d, want %d", op.N, len(theta))
	}
	want := explicitHessianEigen(x, labels, theta, in, hidden)
	s, err := LanczosExtremes(op.N, op.N, 2, op.Apply)
	if err != nil {
		t.Fatal(err)
	}
	scaleTol := 1e-3 * math.Max(math.Abs(want[0]), math.Abs(want[len(want)-1]))
	if math.Abs(s.Min-want[0]) > scaleTol || math.Abs(s.Max-want[len(want)-1]) > scaleTol {
		t.Errorf("Lanczos min %g, max %g; explicit Hessian %g, %g", s.Min, s.Max, want[0], want[len(want)-1])
	}
	// A Krylov space holds one vector per distinct eigenvalue (the Hessian has repeated ones), so Lanczos may
	// stop before n steps; each Ritz value of an invariant subspace is then an eigenvalue.
	for i, r := range s.Ritz {
		closest := math.Inf(1)
		for _, w := range want {
			closest = math.Min(closest, math.Abs(r-w))
		}
		if closest > scaleTol {
			t.Errorf("Ritz value %d = %g is no eigenvalue of the explicit Hessian (nearest at %g)", i, r, closest)
		}
	}
}

// explicitHessianEigen returns the ascending eigenvalues of the Hessian of the mean cross-entropy of an FCNet
// in → hidden → 10 with parameters theta (W1 row-major, b1, W2 row-major, b2), by central differences of
// the analytic float64 gradient.
func explicitHessianEigen(x [][]float64, labels []int, theta []float64, in, hidden int) []float64 {
	grad := func(p []float64) []float64 {
		U, c, V, d := zeros(in, hidden), p[in*hidden:in*hidden+hidden], zeros(hidden, 10), p[len(p)-10:]
		for i := range in {
			copy(U[i], p[i*hidden:(i+1)*hidden])
		}
		off := in*hidden + hidden
		for g := range hidden {
			copy(V[g], p[off+g*10:off+(g+1)*10])
		}
		dU, dc, dV, dd := effectiveStep(x, labels, U, c, V, d)
		return slices.Concat(flat(dU), dc, flat(dV), dd)
	}
	n := len(theta)
	h := mat.NewSymDense(n, nil)
	const eps = 1e-5
	cols := make([][]float64, n)
	for p := range n {
		plus, minus := slices.Clone(theta), slices.Clone(theta)
		plus[p] += eps
		minus[p] -= eps
		gp, gm := grad(plus), grad(minus)
		cols[p] = make([]float64, n)
		for q := range n {
			cols[p][q] = (gp[q] - gm[q]) / (2 * eps)
		}
	}
	for p := range n {
		for q := p; q < n; q++ {
			h.SetSym(p, q, (cols[p][q]+cols[q][p])/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		panic("explicit Hessian: no eigen-decomposition")
	}
	vals := eig.Values(nil)
	slices.Sort(vals)
	return vals
}

// TestHessianAtCheckpoint checks that HessianAt measures the checkpoint's weights: after training, the
// sample's loss is lower than at the same seed's initial weights, and equal when measured twice.
func TestHessianAtCheckpoint(t *testing.T) {
	trainSet, valSet := synthetic("train", 400, 1), synthetic("val", 100, 2)
	dir := t.TempDir()
	run := RunConfig{Variant: "baseline", Model: "fcnet", Width: 8, Seed: 4, Epochs: 3, LR: 0.5, BatchSize: 20}
	if _, err := Run(run, trainSet, valSet, RunOptions{Checkpoint: dir}); err != nil {
		t.Fatal(err)
	}
	cfg := HessianConfig{Batches: 2, BatchSize: 20, Iterations: 6, Seed: 1}
	initial, err := HessianAt(run, "", trainSet, cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	trained, err := HessianAt(run, dir, trainSet, cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := HessianAt(run, dir, trainSet, cfg, RunOptions{})
	if !(trained.Loss < 0.8*initial.Loss) || again.Loss != trained.Loss || again.Max != trained.Max {
		t.Errorf("loss at the checkpoint %g (again %g), at the initial weights %g; λmax %g, again %g",
			trained.Loss, again.Loss, initial.Loss, trained.Max, again.Max)
	}
	if _, err := HessianAt(run, t.TempDir(), trainSet, cfg, RunOptions{}); err == nil || !strings.Contains(err.Error(), "holds no checkpoint") {
		t.Errorf("an empty folder: got %v", err)
	}
	if _, err := HessianAt(run, "", trainSet, HessianConfig{Batches: 1, BatchSize: 20}, RunOptions{}); err == nil ||
		!strings.Contains(err.Error(), "iterations=0") {
		t.Errorf("iterations 0: got %v", err)
	}
}
