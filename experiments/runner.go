package experiments

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/gomlx/gomlx/ui/commandline"
	"gonum.org/v1/gonum/stat"
)

// Defaults of a run.
const (
	// PaperLR is the paper's SGD learning rate (with 200 epochs).
	PaperLR = 1e-3
	// DefaultLR is the default SGD learning rate of this package: 0.05. With only a few epochs, the paper's 1e-3
	// barely moves an FCNet away from its initialisation (and every variant would look alike); 0.05 reaches
	// ~95 % on MNIST within one or two epochs. Use PaperLR with the paper's 200 epochs.
	DefaultLR = 0.05
	// DefaultBatchSize is the paper's batch size.
	DefaultBatchSize = 100
	// EvalBatchSize is the batch size of validation passes (larger is faster; it does not change the result).
	EvalBatchSize = 500
)

// RunConfig is everything that defines one training run (and is recorded with its results).
type RunConfig struct {
	// Variant names the run's configuration in reports, e.g. "baseline" or "fuzzy+rejuvenation".
	Variant string `json:"variant"`
	// Model and Width select the network (see ModelFactory).
	Model string `json:"model"`
	Width int    `json:"width"`
	// Bio is the bio-mechanism configuration; nil trains the baseline: the unconverted model with plain SGD.
	Bio *bio.Config `json:"bio,omitempty"`
	// Seed seeds the weight initialisation, the batch order and (as its Seed) the bio configuration; it also
	// selects the data fold (see Split).
	Seed int64 `json:"seed"`
	// Epochs, LR and BatchSize are the training length, plain SGD learning rate (no decay) and batch size.
	Epochs    int     `json:"epochs"`
	LR        float64 `json:"lr"`
	BatchSize int     `json:"batch_size"`
	// EvalEvery, when > 0, also evaluates on the validation set every that many steps (besides every epoch end).
	EvalEvery int `json:"eval_every"`
	// Normalize, when set, standardises the inputs in the model graph (ProtocolPaper: MNISTNormalization).
	Normalize *Normalization `json:"normalize,omitempty"`
	// StageWidths, when set, are the three stage widths of a ResNet model, instead of Width's multiplier of
	// 16-32-64 (ProtocolPaper: PaperStageWidths, the authors' 6-12-24 on MNIST); only with the default models.
	StageWidths []int `json:"stage_widths,omitempty"`
	// SplitStepFactor, when not 0, multiplies the SGD step of the variables whose effective step weight
	// splitting doubles (every kernel, every bias but the classifier's): ½ with Γ = 2 is the weight-splitting
	// control of PaperProtocolVariants.
	SplitStepFactor float64 `json:"split_step_factor,omitempty"`
}

// Validate returns an error naming the first invalid field.
func (c RunConfig) Validate() error {
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("run %q: epochs=%d must be > 0", c.Variant, c.Epochs)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("run %q: lr=%g must be a positive number", c.Variant, c.LR)
	case c.BatchSize <= 0:
		return fmt.Errorf("run %q: batch_size=%d must be > 0", c.Variant, c.BatchSize)
	case c.EvalEvery < 0:
		return fmt.Errorf("run %q: eval_every=%d must be >= 0", c.Variant, c.EvalEvery)
	case c.Width < 0:
		return fmt.Errorf("run %q: width=%d must be >= 0", c.Variant, c.Width)
	case c.SplitStepFactor < 0 || math.IsInf(c.SplitStepFactor, 0) || math.IsNaN(c.SplitStepFactor):
		return fmt.Errorf("run %q: split_step_factor=%g must be 0 (off) or a positive number", c.Variant, c.SplitStepFactor)
	}
	if c.Normalize != nil {
		if err := c.Normalize.Validate(); err != nil {
			return fmt.Errorf("run %q: %w", c.Variant, err)
		}
	}
	if len(c.StageWidths) > 0 {
		if _, err := ResNetWithStageWidths(c.Model, c.StageWidths); err != nil {
			return fmt.Errorf("run %q: %w", c.Variant, err)
		}
	}
	if c.Bio != nil {
		if err := c.Bio.Validate(); err != nil {
			return fmt.Errorf("run %q: bio config: %w", c.Variant, err)
		}
	}
	return nil
}

// Mechanisms is what a bio converter provides to a run; *bio.Converter implements it.
type Mechanisms interface {
	// Convert wraps the model function.
	Convert(fn train.ModelFn) train.ModelFn
	// Optimizer wraps the optimizer so that the mechanisms run inside the training step.
	Optimizer(opt optimizers.Interface) optimizers.Interface
	// Metrics returns telemetry metrics to add to the training metrics.
	Metrics() []metrics.Interface
}

// ConverterFunc creates the Mechanisms of a bio configuration.
type ConverterFunc func(cfg bio.Config) (Mechanisms, error)

// BioConverter is the ConverterFunc of package bio.
func BioConverter(cfg bio.Config) (Mechanisms, error) {
	c, err := bio.NewConverter(cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RunOptions are the settings of a run that do not change its results.
type RunOptions struct {
	// Models builds the model; nil uses DefaultModels.
	Models ModelFactory
	// Converter builds the bio mechanisms; nil uses BioConverter.
	Converter ConverterFunc
	// Checkpoint, when not empty, is the folder where checkpoints are saved: at the end of every epoch and
	// of the run, every SaveEverySteps steps and SaveEvery of wall time (when > 0), and when Stop is closed;
	// the last KeepCheckpoints (default 2) are kept. Without Resume, the folder must not already hold
	// checkpoints.
	Checkpoint      string
	KeepCheckpoints int
	SaveEverySteps  int
	SaveEvery       time.Duration
	// Resume continues the run from the newest intact checkpoint in Checkpoint (it starts from scratch when
	// there is none; damaged newer ones, e.g. from a kill during a save, are set aside, see CheckCheckpoint):
	// the variables (weights, bio state, RNG states, global step, metric states) are restored, the trainable
	// flags repaired, and training continues at the saved step, mid-epoch included, with the same batch
	// order, giving the same result as an uninterrupted run. The checkpoint is loaded lazily (each variable
	// takes its saved value when created), so the trainer is built on ctx itself, not ctx.Reuse().
	Resume bool
	// Stop, when closed, ends the run after the current step: it saves a checkpoint (with Checkpoint) and
	// Run returns an error wrapping ErrInterrupted. A command closes it on SIGINT or SIGTERM.
	Stop <-chan struct{}
	// Progress attaches GoMLX's command-line progress bar (steps, loss, accuracy, ETA).
	Progress bool
	// Log, when not nil, receives one line per evaluation.
	Log io.Writer
	// Notes, when not nil, receives notes about the checkpoints (damaged ones set aside when resuming).
	Notes io.Writer
	// BackendConfig is passed to the Go backend (simplego.New), e.g. "ops_sequential" or "dotgeneral_small";
	// empty uses its defaults.
	BackendConfig string
	// Backend names the backend of the run (see internal/backend): "go", "xla:cpu", "xla:cuda"; empty uses
	// $GOMLX_BACKEND, or "go" when that is unset. XLA needs a binary built with -tags xla.
	Backend string
	// LowMemory runs each layer's bio stages one after another (bio.Converter.LowMemory): less memory, a
	// little more time per step, the same results. It needs the default Converter (or one that returns a
	// *bio.Converter).
	LowMemory bool
}

// ErrInterrupted is wrapped by the error of a run stopped through RunOptions.Stop.
var ErrInterrupted = errors.New("interrupted")

// RunResult is the outcome of one run.
type RunResult struct {
	Config RunConfig `json:"config"`
	// Curve holds the validation evaluations, at every epoch end (and every EvalEvery steps).
	Curve []EvalPoint `json:"curve"`
	// FinalAccuracy and FinalLoss are those of the last evaluation.
	FinalAccuracy float64 `json:"final_accuracy"`
	FinalLoss     float64 `json:"final_loss"`
	// Steps is the global step at the end; StepsPerEpoch the number of training batches of an epoch.
	Steps         int `json:"steps"`
	StepsPerEpoch int `json:"steps_per_epoch"`
	// TrainSize and ValSize are the numbers of training and validation examples.
	TrainSize int `json:"train_size"`
	ValSize   int `json:"val_size"`
	// MedianStepMs and MeanStepMs summarise the duration of the training steps of this process (the first
	// step includes the graph compilation and is excluded from the mean).
	MedianStepMs float64 `json:"median_step_ms"`
	MeanStepMs   float64 `json:"mean_step_ms"`
	// TrainSeconds is the wall time of training (without evaluations); WallSeconds of the whole run.
	TrainSeconds float64 `json:"train_seconds"`
	WallSeconds  float64 `json:"wall_seconds"`
	// ResumedFrom is the global step loaded from a checkpoint (0 for a fresh run).
	ResumedFrom int `json:"resumed_from,omitempty"`
	// Error is set when the run failed (in a comparison, failed runs are reported rather than aborting).
	Error string `json:"error,omitempty"`
}

// DefaultModels is the ModelFactory used when RunOptions.Models is nil.
var DefaultModels ModelFactory = PaperModels

// Run trains one configuration on trainSet and evaluates it on valSet after every epoch (and every EvalEvery
// steps). It uses its own backend and context (see NewTrainer), so several runs may execute concurrently in
// goroutines. Errors (including panics of graph building) are returned, never raised.
func Run(cfg RunConfig, trainSet, valSet *idx.Dataset, opts RunOptions) (res *RunResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("run %q seed %d: %v", cfg.Variant, cfg.Seed, r)
		}
	}()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	trainDS, err := NewTrainBatches("train", trainSet, cfg.BatchSize, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	valDS, err := NewEvalBatches("validation", valSet, EvalBatchSize)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	t, err := NewTrainer(cfg, opts)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	res = &RunResult{Config: cfg, TrainSize: trainSet.N, ValSize: valSet.N, StepsPerEpoch: trainDS.StepsPerEpoch()}
	var ckpt *checkpointer
	if opts.Checkpoint != "" {
		if ckpt, err = resumeCheckpoint(t.Context, cfg, opts, res); err != nil {
			return nil, err
		}
	}
	if res.ResumedFrom == 0 {
		t.Context.SetRNGStateFromSeed(cfg.Seed)
	}
	trainer := t.Build(t.Context)
	if ckpt != nil {
		ckpt.restoreMetricState(t.Context, trainer)
	}
	loop := train.NewLoop(trainer)
	trainDS.SeekStep(loop.LoopStep)
	h := &evalHook{cfg: cfg, opts: opts, trainer: trainer, valDS: valDS, res: res, ckpt: ckpt,
		spe: trainDS.StepsPerEpoch(), total: cfg.Epochs * trainDS.StepsPerEpoch(), trainStart: time.Now()}
	loop.OnStep("experiments-eval", 100, h.onStep)
	if opts.Progress {
		commandline.AttachProgressBar(loop)
	}
	if _, err := loop.RunToGlobalStep(trainDS, h.total); err != nil {
		if h.err != nil {
			return nil, h.err
		}
		return nil, fmt.Errorf("run %q seed %d: training: %w", cfg.Variant, cfg.Seed, err)
	}
	res.TrainSeconds = time.Since(h.trainStart).Seconds() - h.evalTime.Seconds()
	res.Steps = max(loop.LoopStep, res.ResumedFrom)
	res.MeanStepMs, res.MedianStepMs = stepTimes(loop.TrainStepDurations)
	if n := len(res.Curve); n > 0 {
		res.FinalAccuracy, res.FinalLoss = res.Curve[n-1].ValAccuracy, res.Curve[n-1].ValLoss
	} else {
		return nil, fmt.Errorf("run %q seed %d: no evaluation was recorded", cfg.Variant, cfg.Seed)
	}
	res.WallSeconds = time.Since(start).Seconds()
	return res, nil
}

// resumeCheckpoint opens the run's checkpoint folder; when resuming from a saved step it repairs the
// trainable flags and takes the learning curve up to that step into res.
func resumeCheckpoint(ctx *context.Context, cfg RunConfig, opts RunOptions, res *RunResult) (*checkpointer, error) {
	ckpt, err := openCheckpoint(ctx, cfg, opts)
	if err != nil || !opts.Resume {
		return ckpt, err
	}
	// Variables are loaded lazily: each takes its saved value when the model, the optimizer or the bio
	// mechanisms create it, in the same order as in an uninterrupted run (loading them all at once creates
	// them in a random order, which changes the order of per-layer random draws).
	step := int(optimizers.GetGlobalStep(ctx))
	if step == 0 {
		return ckpt, nil
	}
	bio.RestoreTrainableFlags(ctx) // the one place where runs restore the flags
	res.ResumedFrom = step
	if prev, err := readCurve(opts.Checkpoint); err == nil {
		for _, p := range prev {
			if p.Step <= step {
				res.Curve = append(res.Curve, p)
			}
		}
	}
	return ckpt, nil
}

// evalHook is Run's per-step work: evaluations, checkpoints and the stop request.
type evalHook struct {
	cfg        RunConfig
	opts       RunOptions
	trainer    *train.Trainer
	valDS      *Batches
	res        *RunResult
	ckpt       *checkpointer
	spe, total int
	trainStart time.Time
	evalTime   time.Duration
	err        error // the error that stopped the loop
}

// onStep implements train.OnStepFn.
func (h *evalHook) onStep(loop *train.Loop, ms []*tensors.Tensor) error {
	step := loop.LoopStep + 1
	boundary := step%h.spe == 0 || step == h.total
	if boundary || (h.cfg.EvalEvery > 0 && step%h.cfg.EvalEvery == 0) {
		if err := h.evaluate(step, scalar(ms[2]), h.trainAccuracy(ms)); err != nil {
			h.err = err
			return err
		}
	}
	stop := false
	select {
	case <-h.opts.Stop:
		stop = true
	default:
	}
	if h.ckpt != nil && (stop || h.ckpt.due(step, boundary)) {
		if err := h.ckpt.save(h.res.Curve); err != nil {
			h.err = fmt.Errorf("run %q: %w", h.cfg.Variant, err)
			return h.err
		}
	}
	if stop {
		h.err = fmt.Errorf("run %q seed %d: %w at step %d", h.cfg.Variant, h.cfg.Seed, ErrInterrupted, step)
		return h.err
	}
	return nil
}

// trainAccuracy returns the moving-average training accuracy among the step's metrics (nil if absent).
func (h *evalHook) trainAccuracy(ms []*tensors.Tensor) *float64 {
	for i, m := range h.trainer.TrainMetrics() {
		if m.ShortName() == TrainAccuracyMetric && i < len(ms) {
			v := scalar(ms[i])
			return &v
		}
	}
	return nil
}

// evaluate runs the validation pass after step and appends it to the curve.
func (h *evalHook) evaluate(step int, trainLoss float64, trainAcc *float64) error {
	t0 := time.Now()
	defer func() { h.evalTime += time.Since(t0) }()
	vals, err := h.trainer.Eval(h.valDS)
	if err != nil {
		return fmt.Errorf("run %q: evaluation at step %d: %w", h.cfg.Variant, step, err)
	}
	p := EvalPoint{Step: step, Epoch: float64(step) / float64(h.spe),
		ValLoss: scalar(vals[1]), ValAccuracy: scalar(vals[len(vals)-1]), TrainLoss: trainLoss, TrainAccuracy: trainAcc,
		Seconds: time.Since(h.trainStart).Seconds() - h.evalTime.Seconds()}
	h.res.Curve = append(h.res.Curve, p)
	if h.opts.Log != nil {
		_, _ = fmt.Fprintf(h.opts.Log, "%s seed %d: step %d (epoch %.2f): val acc %.4f, val loss %.4f, train loss %.4f\n",
			h.cfg.Variant, h.cfg.Seed, step, p.Epoch, p.ValAccuracy, p.ValLoss, p.TrainLoss)
	}
	return nil
}

// stepTimes returns the mean (without the first step, which includes compiling the graph) and the median
// of the step durations, in milliseconds.
func stepTimes(d []time.Duration) (mean, median float64) {
	if len(d) == 0 {
		return 0, 0
	}
	rest := d
	if len(d) > 1 {
		rest = d[1:]
	}
	ms := make([]float64, len(rest))
	for i, x := range rest {
		ms[i] = float64(x.Microseconds()) / 1000
	}
	all := make([]float64, len(d))
	for i, x := range d {
		all[i] = float64(x.Microseconds()) / 1000
	}
	slices.Sort(all)
	return stat.Mean(ms, nil), all[len(all)/2]
}

// scalar converts a scalar tensor to float64.
func scalar(t *tensors.Tensor) float64 { return shapes.ConvertTo[float64](t.Value()) }
