// Package inversion implements the gradient-inversion attack of Geiping et al. 2020 ("Inverting gradients —
// how easy is it to break privacy in federated learning?") against GoMLX models, and the experiment of
// Hofmann et al. 2025 that measures how well networks trained with and without synaptic diversity resist it.
//
// The attacker knows the model (architecture and current weights, including a converted model's weight
// splitting) and the labels of a batch, and observes the gradient that one training step of that batch
// produces. Starting from random images, it minimises
//
//	1 − ⟨∇W L(x'), g⟩ / (‖∇W L(x')‖·‖g‖) + λ_TV·TV(x')
//
// over the dummy images x' with Adam on the signed gradient, learning-rate drops at 3/8, 5/8 and 7/8 of the
// iterations and x' boxed into the data range — the configuration of Geiping et al. The sums run over every
// trainable variable of the model; TV is the mean absolute difference of neighbouring pixels.
//
// The gradient of the objective with respect to x' is a second-order derivative (the derivative of a weight
// gradient); the layers of package biolayers provide it on GoMLX's pure-Go backend, BatchNorm included.
//
// Instead of knowing the labels, the attacker can infer them from the classifier's observed gradient
// (iDLG, Zhao et al. 2020: InferLabels, LabelsIDLG). Each reconstruction is scored against its original by
// MSE, PSNR and SSIM (Wang et al. 2004), and each attack by the authors' metric, the final gradient-matching
// cost. The experiment (Run) trains victims of every bio variant and attacks them at several training steps;
// PaperProtocolExperimentConfig gives the authors' victims and attack settings.
package inversion

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
)

// BackendConfig is the configuration of GoMLX's Go backend (simplego.New) for attacks: "ops_sequential".
// The attack's second-order graphs hold many independent matrix products; in the backend's parallel mode
// (GoMLX v0.26) those can all wait for worker slots that none of them frees, and the execution hangs.
const BackendConfig = "ops_sequential"

// Observation selects which gradient the attacker observes.
type Observation string

const (
	// ObserveGradient is the plain gradient ∇W L of the batch's mean loss, what a federated-SGD client shares.
	ObserveGradient Observation = "gradient"
	// ObserveUpdate is the gradient after the converter's per-weight fuzzy factors (s ⊙ ∇W L): the direction
	// of a bio-trained client's SGD update. The attacker does not know the factors s (they are the client's
	// private state) and matches it with plain gradients of its model. Without fuzzy learning rates it equals
	// ObserveGradient.
	ObserveUpdate Observation = "update"
)

// Config is the attack's configuration. The zero value is not valid; start from DefaultConfig.
type Config struct {
	// Iterations of the optimisation (Geiping et al. and the paper: up to 7000).
	Iterations int `json:"iterations"`
	// LearningRate of Adam on the dummy images (0.1).
	LearningRate float64 `json:"learning_rate"`
	// TotalVariation is the weight λ_TV of the total-variation prior (1e-6 in the paper; MNIST's pixels are
	// in [0, 1]).
	TotalVariation float64 `json:"total_variation"`
	// Signed steps Adam with the sign of the objective's gradient, as Geiping et al. do.
	Signed bool `json:"signed"`
	// Min and Max box the dummy images into the data range (MNIST: [0, 1]).
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// ImageShape is the [height, width, channels] layout of one example's features, for the TV prior; it
	// must multiply to the number of features.
	ImageShape [3]int `json:"image_shape"`
	// Seed seeds the random start of the dummy images.
	Seed uint64 `json:"seed"`
	// Observe selects the gradient the attacker observes (ObserveGradient by default).
	Observe Observation `json:"observe"`
}

// DefaultConfig is the configuration of Geiping et al. as used by the paper, for MNIST images, with 1000
// iterations instead of 7000 (on 2 CPU cores; set Iterations to 7000 for the paper's length).
func DefaultConfig() Config {
	return Config{Iterations: 1000, LearningRate: 0.1, TotalVariation: 1e-6, Signed: true, Min: 0, Max: 1,
		ImageShape: [3]int{28, 28, 1}, Seed: 1, Observe: ObserveGradient}
}

// Validate returns an error naming the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Iterations <= 0:
		return fmt.Errorf("inversion: iterations=%d must be > 0", c.Iterations)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("inversion: learning_rate=%g must be a positive number", c.LearningRate)
	case !(c.TotalVariation >= 0) || math.IsInf(c.TotalVariation, 0):
		return fmt.Errorf("inversion: total_variation=%g must be a number >= 0", c.TotalVariation)
	case math.IsNaN(c.Min) || math.IsNaN(c.Max) || math.IsInf(c.Min, 0) || math.IsInf(c.Max, 0) || !(c.Min < c.Max):
		return fmt.Errorf("inversion: min=%g, max=%g must be finite with min < max", c.Min, c.Max)
	case c.ImageShape[0] <= 0 || c.ImageShape[1] <= 0 || c.ImageShape[2] <= 0:
		return fmt.Errorf("inversion: image_shape=%v must be 3 positive sizes [height, width, channels]", c.ImageShape)
	case c.Observe != ObserveGradient && c.Observe != ObserveUpdate:
		return fmt.Errorf("inversion: observe=%q must be %q or %q", c.Observe, ObserveGradient, ObserveUpdate)
	}
	return nil
}

// features is the number of values per example that ImageShape describes.
func (c Config) features() int { return c.ImageShape[0] * c.ImageShape[1] * c.ImageShape[2] }

// Victim is a trained (or freshly initialised) model under attack.
type Victim struct {
	// Backend executes the graphs.
	Backend backends.Backend
	// Context holds the model's variables; the attack reads them and never changes them.
	Context *context.Context
	// Model is the model function as trained: for a bio model, the converted one (conv.Convert(fn)). It takes
	// inputs [batch, features] and returns logits [batch, classes].
	Model train.ModelFn
	// Converter is the bio converter of a converted model (nil for a plain one, whose update is its gradient).
	Converter *bio.Converter
	// ClassifierScope names the classifier (last) layer for iDLG's label inference (see InferLabels): its
	// variables "biases" [classes] and "weights" [in, classes] lie in a scope with this element, e.g. "output"
	// in "/output/dense". Empty: DefaultClassifierScope, as every model of package models names it.
	ClassifierScope string
}

// Attack runs gradient-inversion attacks on one victim. Its graphs are compiled once per batch size.
// An Attack is not safe for concurrent use.
type Attack struct {
	victim Victim
	cfg    Config
	// observe computes the observed gradients of (x, labels); objective returns the cosine objective and its
	// gradient with respect to x' for (x', labels, observed gradients...).
	observe   *context.Exec
	objective *context.Exec
	// observedVars are the variables of the observed gradients, in their order (set when a graph is built).
	observedVars []*context.Variable
}

// NewAttack prepares an attack on v with cfg. It returns an error for an invalid configuration or victim.
func NewAttack(v Victim, cfg Config) (*Attack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if v.Backend == nil || v.Context == nil || v.Model == nil {
		return nil, errors.New("inversion: the victim needs a Backend, a Context and a Model")
	}
	a := &Attack{victim: v, cfg: cfg}
	var err error
	a.observe, err = context.NewExec(v.Backend, v.Context.Reuse(), a.observeGraph)
	if err != nil {
		return nil, fmt.Errorf("inversion: building the observation graph: %w", err)
	}
	a.objective, err = context.NewExec(v.Backend, v.Context.Reuse(), a.objectiveGraph)
	if err != nil {
		return nil, fmt.Errorf("inversion: building the objective graph: %w", err)
	}
	return a, nil
}

// weightGradients returns the gradients of the mean cross-entropy of (x, labels) with respect to every
// trainable variable in use by the graph, in ctx's variable order.
func (a *Attack) weightGradients(ctx *context.Context, x, labels *Node) []*Node {
	g := x.Graph()
	logits := a.victim.Model(ctx, nil, []*Node{x})[0]
	loss := losses.SparseCategoricalCrossEntropyLogits([]*Node{labels}, []*Node{logits})
	if loss.Rank() > 0 {
		loss = ReduceAllMean(loss)
	}
	var vars []*Node
	var used []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v.ValueGraph(g))
			used = append(used, v)
		}
	}
	if len(vars) == 0 {
		panic(errors.New("inversion: the model has no trainable variables"))
	}
	a.observedVars = used
	return Gradient(loss, vars...)
}

// observeGraph: inputs x [batch, features] and labels [batch, 1] → the observed gradients.
func (a *Attack) observeGraph(ctx *context.Context, inputs []*Node) []*Node {
	grads := a.weightGradients(ctx, inputs[0], inputs[1])
	if a.cfg.Observe == ObserveUpdate && a.victim.Converter != nil && a.victim.Converter.Config().FuzzyLearningRates {
		grads = a.victim.Converter.FuzzyLearningRates(ctx, inputs[0].Graph(), grads)
	}
	return grads
}

// objectiveGraph: inputs x', labels and the observed gradients → [1 − cos, ∂(1 − cos)/∂x'].
func (a *Attack) objectiveGraph(ctx *context.Context, inputs []*Node) []*Node {
	x, labels, target := inputs[0], inputs[1], inputs[2:]
	grads := a.weightGradients(ctx, x, labels)
	if len(grads) != len(target) {
		panic(fmt.Errorf("inversion: %d observed gradients for %d trainable variables", len(target), len(grads)))
	}
	g := x.Graph()
	dot, pn, tn := ScalarZero(g, x.DType()), ScalarZero(g, x.DType()), ScalarZero(g, x.DType())
	for i, gr := range grads {
		t := ConvertDType(target[i], gr.DType())
		dot = Add(dot, ConvertDType(ReduceAllSum(Mul(gr, t)), x.DType()))
		pn = Add(pn, ConvertDType(ReduceAllSum(Square(gr)), x.DType()))
		tn = Add(tn, ConvertDType(ReduceAllSum(Square(t)), x.DType()))
	}
	// A tiny floor keeps the objective finite where the dummy batch's gradient vanishes.
	eps := Scalar(g, x.DType(), 1e-20)
	cos := Div(dot, Mul(Sqrt(Max(pn, eps)), Sqrt(Max(tn, eps))))
	obj := OneMinus(cos)
	return []*Node{obj, Gradient(obj, x)[0]}
}

// Observe returns the gradients the attacker observes for a batch: x [batch, features] (float32) and its
// labels [batch, 1] (int32).
func (a *Attack) Observe(x, labels *tensors.Tensor) ([]*tensors.Tensor, error) {
	if err := a.checkBatch(x, labels); err != nil {
		return nil, err
	}
	out, err := a.observe.Exec(x, labels)
	if err != nil {
		return nil, fmt.Errorf("inversion: computing the observed gradients: %w", err)
	}
	return out, nil
}

func (a *Attack) checkBatch(x, labels *tensors.Tensor) error {
	if x.Rank() != 2 || x.Shape().Dim(1) != a.cfg.features() {
		return fmt.Errorf("inversion: inputs of shape %s: want [batch, %d] for image_shape %v", x.Shape(), a.cfg.features(), a.cfg.ImageShape)
	}
	if labels.Rank() != 2 || labels.Shape().Dim(0) != x.Shape().Dim(0) || labels.Shape().Dim(1) != 1 {
		return fmt.Errorf("inversion: labels of shape %s: want [%d, 1]", labels.Shape(), x.Shape().Dim(0))
	}
	return nil
}

// Objective evaluates the cosine objective (without the TV prior) and its gradient with respect to the dummy
// images xDummy [batch, features] for the observed gradients.
func (a *Attack) Objective(xDummy, labels *tensors.Tensor, observed []*tensors.Tensor) (float64, []float64, error) {
	if err := a.checkBatch(xDummy, labels); err != nil {
		return 0, nil, err
	}
	args := append([]any{xDummy, labels}, anySlice(observed)...)
	out, err := a.objective.Exec(args...)
	if err != nil {
		return 0, nil, fmt.Errorf("inversion: evaluating the objective: %w", err)
	}
	obj := shapes.ConvertTo[float64](out[0].Value())
	grad := make([]float64, out[1].Shape().Size())
	switch flat := out[1].Value().(type) {
	case [][]float32:
		for i, row := range flat {
			for j, v := range row {
				grad[i*len(row)+j] = float64(v)
			}
		}
	case [][]float64:
		for i, row := range flat {
			copy(grad[i*len(row):], row)
		}
	default:
		return 0, nil, fmt.Errorf("inversion: the model's inputs must be float32 or float64, got %s", out[1].DType())
	}
	return obj, grad, nil
}

func anySlice(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

// Result is the outcome of one reconstruction.
type Result struct {
	// Images are the reconstructed images [batch·features], from the iteration with the lowest objective.
	Images []float32
	// BestObjective is the lowest objective (cosine term plus TV prior) seen, at iteration BestIteration.
	BestObjective float64
	BestIteration int
	// FinalObjective is the objective at the last iteration.
	FinalObjective float64
	// Curve samples the objective every CurveEvery iterations.
	Curve      []float64
	CurveEvery int
}

// Reconstruct runs the attack: it recovers a batch of batchSize images with the given labels [batch, 1]
// from the observed gradients.
func (a *Attack) Reconstruct(labels *tensors.Tensor, observed []*tensors.Tensor) (*Result, error) {
	if labels.Rank() != 2 || labels.Shape().Dim(1) != 1 {
		return nil, fmt.Errorf("inversion: labels of shape %s: want [batch, 1]", labels.Shape())
	}
	batch, f := labels.Shape().Dim(0), a.cfg.features()
	rng := rand.New(rand.NewPCG(a.cfg.Seed, 0x1a7e25))
	x := make([]float32, batch*f)
	for i := range x {
		x[i] = float32(a.cfg.Min + (a.cfg.Max-a.cfg.Min)*rng.Float64())
	}
	adam := newAdam(len(x))
	res := &Result{BestObjective: math.Inf(1), CurveEvery: max(1, a.cfg.Iterations/100)}
	tvGrad, step := make([]float64, len(x)), make([]float64, len(x))
	for it := range a.cfg.Iterations {
		xt := tensors.FromFlatDataAndDimensions(x, batch, f)
		obj, grad, err := a.Objective(xt, labels, observed)
		if err != nil {
			return nil, err
		}
		if a.cfg.TotalVariation > 0 {
			obj += a.cfg.TotalVariation * TotalVariation(x, batch, a.cfg.ImageShape, tvGrad)
		}
		if math.IsNaN(obj) {
			return nil, fmt.Errorf("inversion: the objective became NaN at iteration %d", it)
		}
		if obj < res.BestObjective {
			res.BestObjective, res.BestIteration = obj, it
			res.Images = append(res.Images[:0], x...)
		}
		if it%res.CurveEvery == 0 {
			res.Curve = append(res.Curve, obj)
		}
		res.FinalObjective = obj
		// Geiping et al.'s schedule: the learning rate drops by 10× at 3/8, 5/8 and 7/8 of the iterations.
		lr := a.cfg.LearningRate
		for _, frac := range []float64{3.0 / 8, 5.0 / 8, 7.0 / 8} {
			if float64(it) >= frac*float64(a.cfg.Iterations) {
				lr *= 0.1
			}
		}
		for i := range step {
			d := grad[i]
			if a.cfg.TotalVariation > 0 {
				d += a.cfg.TotalVariation * tvGrad[i]
			}
			if a.cfg.Signed {
				d = sign(d)
			}
			step[i] = d
		}
		adam.step(x, step, lr, a.cfg.Min, a.cfg.Max)
	}
	return res, nil
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// adam is Adam (β1 0.9, β2 0.999, ε 1e-8) on a flat parameter vector, boxed after each step.
type adam struct {
	m, v []float64
	t    int
}

func newAdam(n int) *adam { return &adam{m: make([]float64, n), v: make([]float64, n)} }

func (o *adam) step(x []float32, grad []float64, lr, lo, hi float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	o.t++
	c1, c2 := 1-math.Pow(b1, float64(o.t)), 1-math.Pow(b2, float64(o.t))
	for i, g := range grad {
		o.m[i] = b1*o.m[i] + (1-b1)*g
		o.v[i] = b2*o.v[i] + (1-b2)*g*g
		v := float64(x[i]) - lr*(o.m[i]/c1)/(math.Sqrt(o.v[i]/c2)+eps)
		x[i] = float32(min(max(v, lo), hi))
	}
}

// TotalVariation returns the mean absolute difference between horizontally and vertically neighbouring
// pixels of a batch of images x [batch·height·width·channels] (channels last), the sum of the two means, and
// writes its gradient with respect to x into grad (len(x); nil skips it). The derivative of |0| is taken as 0.
func TotalVariation(x []float32, batch int, shape [3]int, grad []float64) float64 {
	h, w, c := shape[0], shape[1], shape[2]
	if grad != nil {
		clear(grad)
	}
	var sumH, sumV float64
	nH := float64(batch * h * (w - 1) * c)
	nV := float64(batch * (h - 1) * w * c)
	at := func(b, i, j, k int) int { return ((b*h+i)*w+j)*c + k }
	for b := range batch {
		for i := range h {
			for j := range w {
				for k := range c {
					p := at(b, i, j, k)
					if j+1 < w {
						q := at(b, i, j+1, k)
						d := float64(x[q]) - float64(x[p])
						sumH += math.Abs(d)
						if grad != nil {
							s := sign(d) / nH
							grad[q] += s
							grad[p] -= s
						}
					}
					if i+1 < h {
						q := at(b, i+1, j, k)
						d := float64(x[q]) - float64(x[p])
						sumV += math.Abs(d)
						if grad != nil {
							s := sign(d) / nV
							grad[q] += s
							grad[p] -= s
						}
					}
				}
			}
		}
	}
	tv := 0.0
	if nH > 0 {
		tv += sumH / nH
	}
	if nV > 0 {
		tv += sumV / nV
	}
	return tv
}
