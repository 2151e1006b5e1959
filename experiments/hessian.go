package experiments

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bio-transformations/go-bio/datasets/idx"
	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"gonum.org/v1/gonum/mat"
)

// Spectrum is the result of LanczosExtremes.
type Spectrum struct {
	// Min and Max are the smallest and largest Ritz values: estimates of the operator's extreme eigenvalues
	// (exact when Iterations reaches the dimension).
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// Ritz are all Ritz values, ascending.
	Ritz []float64 `json:"ritz"`
	// Iterations is the number of Lanczos steps taken (fewer than asked when an invariant subspace was found).
	Iterations int `json:"iterations"`
}

// LanczosExtremes estimates the extreme eigenvalues of a symmetric linear operator of dimension n, given as
// apply(v, out) writing A·v into out, with `iterations` steps of the Lanczos algorithm (Lanczos 1950; with
// full reorthogonalisation against every earlier vector, done twice, as in Golub and Van Loan, "Matrix
// Computations", section 10.1), started from a seeded random unit vector. The eigenvalues of the resulting
// tridiagonal matrix (the Ritz values) are computed with gonum's mat.EigenSym; its extremes converge first.
// Memory: iterations vectors of n float64.
func LanczosExtremes(n, iterations int, seed uint64, apply func(v, out []float64) error) (Spectrum, error) {
	if n <= 0 {
		return Spectrum{}, fmt.Errorf("experiments: Lanczos: dimension n=%d must be > 0", n)
	}
	if iterations <= 0 {
		return Spectrum{}, fmt.Errorf("experiments: Lanczos: iterations=%d must be > 0", iterations)
	}
	iterations = min(iterations, n)
	rng := rand.New(rand.NewPCG(seed, 0x1a2c05))
	q := make([]float64, n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	scale(q, 1/norm(q))
	var basis [][]float64
	var alpha, beta []float64
	w := make([]float64, n)
	for j := 0; j < iterations; j++ {
		basis = append(basis, q)
		if err := apply(q, w); err != nil {
			return Spectrum{}, err
		}
		a := dot(q, w)
		alpha = append(alpha, a)
		for range 2 { // full reorthogonalisation (it also removes α·q_j and β·q_{j-1})
			for _, b := range basis {
				axpy(-dot(b, w), b, w)
			}
		}
		bNorm := norm(w)
		if j == iterations-1 || bNorm <= 1e-10*math.Max(1, math.Abs(a)) {
			break
		}
		beta = append(beta, bNorm)
		q = slices.Clone(w)
		scale(q, 1/bNorm)
	}
	k := len(alpha)
	tri := mat.NewSymDense(k, nil)
	for i := range k {
		tri.SetSym(i, i, alpha[i])
		if i+1 < k {
			tri.SetSym(i, i+1, beta[i])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(tri, false) {
		return Spectrum{}, errors.New("experiments: Lanczos: the tridiagonal eigen-decomposition did not converge")
	}
	ritz := eig.Values(nil)
	slices.Sort(ritz)
	return Spectrum{Min: ritz[0], Max: ritz[k-1], Ritz: ritz, Iterations: k}, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func scale(a []float64, f float64) {
	for i := range a {
		a[i] *= f
	}
}

// axpy sets y += f·x.
func axpy(f float64, x, y []float64) {
	for i := range x {
		y[i] += f * x[i]
	}
}

// HessianOperator applies the Hessian of a model's mean training loss (cross-entropy on the logits, in
// inference mode: batch normalisation uses its running statistics) over a fixed sample of batches to
// vectors, by Hessian-vector products: the gradient, with respect to the trainable variables' ValueGraph
// nodes, of gradient·v (Pearlmutter 1994's identity H·v = ∇(∇L·v)), averaged over the batches. The vector
// is the trainable variables flattened and concatenated in the context's enumeration order.
type HessianOperator struct {
	trainer *Trainer
	inputs  []*tensors.Tensor
	labels  []*tensors.Tensor
	exec    *context.Exec
	// N is the number of parameters (the dimension of the operator).
	N int
	// Loss is the mean loss over the sample.
	Loss float64
}

// NewHessianOperator builds the operator on t's model and context over the given batches: a first loss
// evaluation creates the variables, or uses those already there (e.g. loaded from a checkpoint).
func NewHessianOperator(t *Trainer, inputs, labels []*tensors.Tensor) (*HessianOperator, error) {
	if len(inputs) == 0 || len(inputs) != len(labels) {
		return nil, fmt.Errorf("experiments: Hessian: need as many label batches as input batches (>0), got %d and %d", len(inputs), len(labels))
	}
	h := &HessianOperator{trainer: t, inputs: inputs, labels: labels}
	// Checked(false): the variables may already exist (a checkpoint loaded eagerly) or be created here.
	lossExec, err := context.NewExec(t.Backend, t.Context.Checked(false), func(ctx *context.Context, x, y *graph.Node) *graph.Node {
		return h.loss(ctx, x, y)
	})
	if err != nil {
		return nil, err
	}
	for i := range inputs {
		out, err := lossExec.Exec(inputs[i], labels[i])
		if err != nil {
			return nil, fmt.Errorf("experiments: Hessian: loss of batch %d: %w", i, err)
		}
		h.Loss += scalar(out[0]) / float64(len(inputs))
	}
	for v := range t.Context.IterVariables() {
		if v.Trainable {
			h.N += v.Shape().Size()
		}
	}
	h.exec, err = context.NewExec(t.Backend, t.Context.Reuse(), h.hvpGraph)
	return h, err
}

// loss is the mean cross-entropy of the model's logits.
func (h *HessianOperator) loss(ctx *context.Context, x, y *graph.Node) *graph.Node {
	logits := h.trainer.Model(ctx, nil, []*graph.Node{x})
	loss := losses.SparseCategoricalCrossEntropyLogits([]*graph.Node{y}, logits[:1])
	if !loss.Shape().IsScalar() {
		loss = graph.ReduceAllMean(loss)
	}
	return loss
}

// hvpGraph returns H·v for one batch, flat.
func (h *HessianOperator) hvpGraph(ctx *context.Context, x, y, v *graph.Node) *graph.Node {
	g := x.Graph()
	loss := h.loss(ctx, x, y)
	var params []*graph.Node
	for vr := range ctx.IterVariables() {
		if vr.Trainable && vr.InUseByGraph(g) {
			params = append(params, vr.ValueGraph(g))
		}
	}
	grads := graph.Gradient(loss, params...)
	gv := graph.ScalarZero(g, loss.DType())
	offset := 0
	for i, p := range params {
		size := p.Shape().Size()
		vi := graph.Reshape(graph.Slice(v, graph.AxisRange(offset, offset+size)), p.Shape().Dimensions...)
		gv = graph.Add(gv, graph.ReduceAllSum(graph.Mul(grads[i], graph.ConvertDType(vi, p.DType()))))
		offset += size
	}
	if offset != h.N {
		panic(fmt.Sprintf("experiments: Hessian: the graph uses %d parameters, the context holds %d trainable ones", offset, h.N))
	}
	hv := graph.Gradient(gv, params...)
	flat := make([]*graph.Node, len(hv))
	for i, n := range hv {
		flat[i] = graph.ConvertDType(graph.Reshape(n, -1), dtypes.Float32)
	}
	return graph.Concatenate(flat, 0)
}

// Apply writes H·v, averaged over the batches, into out; it implements LanczosExtremes' apply.
func (h *HessianOperator) Apply(v, out []float64) error {
	v32 := make([]float32, len(v))
	for i, x := range v {
		v32[i] = float32(x)
	}
	vt := tensors.FromFlatDataAndDimensions(v32, len(v32))
	clear(out)
	for i := range h.inputs {
		res, err := h.exec.Exec(h.inputs[i], h.labels[i], vt)
		if err != nil {
			return fmt.Errorf("experiments: Hessian-vector product on batch %d: %w", i, err)
		}
		for j, x := range tensors.MustCopyFlatData[float32](res[0]) {
			out[j] += float64(x) / float64(len(h.inputs))
		}
	}
	return nil
}

// HessianBackendConfig is the Go backend configuration HessianAt uses unless RunOptions.BackendConfig
// says otherwise: "ops_sequential".
const HessianBackendConfig = "ops_sequential"

// HessianConfig is the sample and the Lanczos budget of a Hessian measurement.
type HessianConfig struct {
	// Batches is the number of training batches of BatchSize in the sample; they are the first batches of
	// the training set shuffled with Seed (NewTrainBatches), so the sample is stated by (split, Seed).
	Batches   int   `json:"batches"`
	BatchSize int   `json:"batch_size"`
	Seed      int64 `json:"seed"`
	// Iterations is the number of Lanczos steps (each one Hessian-vector product per batch).
	Iterations int `json:"iterations"`
}

// Validate returns an error naming the first invalid field.
func (c HessianConfig) Validate() error {
	switch {
	case c.Batches <= 0:
		return fmt.Errorf("hessian: batches=%d must be > 0", c.Batches)
	case c.BatchSize <= 0:
		return fmt.Errorf("hessian: batch_size=%d must be > 0", c.BatchSize)
	case c.Iterations <= 0:
		return fmt.Errorf("hessian: iterations=%d must be > 0", c.Iterations)
	}
	return nil
}

// HessianResult is the outcome of HessianAt.
type HessianResult struct {
	Run    RunConfig     `json:"run"`
	Config HessianConfig `json:"config"`
	// Checkpoint is the folder the weights came from ("" for the initial weights).
	Checkpoint string `json:"checkpoint"`
	// Examples and Params are the sample size and the number of parameters (the Hessian's dimension).
	Examples int `json:"examples"`
	Params   int `json:"params"`
	// Loss is the mean loss over the sample.
	Loss float64 `json:"loss"`
	Spectrum
	// Ratio is Min/Max, the ratio of the extreme eigenvalues.
	Ratio float64 `json:"ratio"`
	// Seconds is the wall time.
	Seconds float64 `json:"seconds"`
}

// HessianAt measures the extreme eigenvalues of the Hessian of the training loss of run's model, with the
// weights of the newest checkpoint in dir (loaded lazily as the variables are created; "" keeps the seeded
// initial weights), on cfg's sample of trainSet, by LanczosExtremes on a HessianOperator.
func HessianAt(run RunConfig, dir string, trainSet *idx.Dataset, cfg HessianConfig, opts RunOptions) (*HessianResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	ds, err := NewTrainBatches("hessian", trainSet, cfg.BatchSize, cfg.Seed)
	if err != nil {
		return nil, err
	}
	var inputs, labels []*tensors.Tensor
	for range cfg.Batches {
		_, in, lb, err := ds.Yield()
		if err != nil {
			return nil, err
		}
		inputs, labels = append(inputs, in[0]), append(labels, lb[0])
	}
	if name := cmp.Or(opts.Backend, internalbackend.Name()); opts.BackendConfig == "" && internalbackend.IsGo(name) {
		// Second-order graphs have many independent matrix products, on which GoMLX v0.26's parallel
		// executor can deadlock (its worker pool waits for slots inside workers); run them op by op.
		opts.BackendConfig = HessianBackendConfig
	}
	t, err := NewTrainer(run, opts)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	t.Context.SetRNGStateFromSeed(run.Seed)
	if dir != "" {
		if !HasCheckpoints(dir) {
			return nil, fmt.Errorf("hessian: %q holds no checkpoint (checkpoint-* files written by biotrain train -checkpoint)", dir)
		}
		if _, err := checkpoints.Build(t.Context).Dir(dir).Done(); err != nil {
			return nil, fmt.Errorf("hessian: checkpoint folder %q: %w", dir, err)
		}
	}
	op, err := NewHessianOperator(t, inputs, labels)
	if err != nil {
		return nil, err
	}
	s, err := LanczosExtremes(op.N, cfg.Iterations, uint64(cfg.Seed), op.Apply)
	if err != nil {
		return nil, err
	}
	return &HessianResult{Run: run, Config: cfg, Checkpoint: dir, Examples: cfg.Batches * cfg.BatchSize, Params: op.N,
		Loss: op.Loss, Spectrum: s, Ratio: s.Min / s.Max, Seconds: time.Since(start).Seconds()}, nil
}
