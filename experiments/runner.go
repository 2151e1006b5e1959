package experiments

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/datasets/idx"
	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/gomlx/gomlx/ui/commandline"
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
	// Checkpoint, when not empty, is the folder where a checkpoint is saved at the end of every epoch (and of
	// the run), keeping the last KeepCheckpoints (default 2). Without Resume, the folder must not already hold
	// checkpoints.
	Checkpoint      string
	KeepCheckpoints int
	// Resume continues the run from the newest checkpoint in Checkpoint (it starts from scratch when there is
	// none): the variables (weights, bio state, RNG states, global step) are restored, the trainable flags
	// repaired with bio.RestoreTrainableFlags, and training continues at the saved step with the same batch
	// order, giving the same result as an uninterrupted run. The checkpoint is loaded lazily (each variable
	// takes its saved value when created), so the trainer is built on ctx itself, not ctx.Reuse().
	Resume bool
	// Progress attaches GoMLX's command-line progress bar (steps, loss, accuracy, ETA).
	Progress bool
	// Log, when not nil, receives one line per evaluation.
	Log io.Writer
	// BackendConfig is passed to the Go backend (simplego.New), e.g. "ops_sequential" or "dotgeneral_small";
	// empty uses its defaults.
	BackendConfig string
	// Backend names the backend of the run (see internal/backend): "go", "xla:cpu", "xla:cuda"; empty uses
	// $GOMLX_BACKEND, or "go" when that is unset. XLA needs a binary built with -tags xla.
	Backend string
}

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
// steps). It uses its own backend and context, so several runs may execute concurrently in goroutines.
// Errors (including panics of graph building) are returned, never raised.
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
	models := opts.Models
	if models == nil {
		models = DefaultModels
	}
	converter := opts.Converter
	if converter == nil {
		converter = BioConverter
	}
	modelFn, err := models(cfg.Model, cfg.Width)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	trainDS, err := NewTrainBatches("train", trainSet, cfg.BatchSize, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	valDS, err := NewEvalBatches("validation", valSet, EvalBatchSize)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}

	backend, err := newRunBackend(opts)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	defer backend.Finalize()
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, cfg.Seed)

	opt := optimizers.StochasticGradientDescent().WithDecay(false).WithLearningRate(cfg.LR).Done()
	trainMetrics := []metrics.Interface{metrics.NewMovingAverageSparseCategoricalAccuracy("Moving Average Accuracy", "~acc", 0.01)}
	if cfg.Bio != nil {
		b := *cfg.Bio
		mech, err := converter(b)
		if err != nil {
			return nil, fmt.Errorf("run %q: bio converter: %w", cfg.Variant, err)
		}
		modelFn = mech.Convert(modelFn)
		opt = mech.Optimizer(opt)
		trainMetrics = append(trainMetrics, mech.Metrics()...)
	}

	res = &RunResult{Config: cfg, TrainSize: trainSet.N, ValSize: valSet.N, StepsPerEpoch: trainDS.StepsPerEpoch()}
	var ckpt *checkpoints.Handler
	resumed := false
	if opts.Checkpoint != "" {
		if ckpt, err = openCheckpoint(ctx, cfg, opts); err != nil {
			return nil, err
		}
		if opts.Resume {
			// Variables are loaded lazily: each takes its saved value when the model, the optimizer or the bio
			// mechanisms create it, in the same order as in an uninterrupted run (loading them all at once
			// creates them in a random order, which changes the order of per-layer random draws).
			if step := int(optimizers.GetGlobalStep(ctx)); step > 0 {
				bio.RestoreTrainableFlags(ctx)
				resumed = true
				res.ResumedFrom = step
				if prev, err := readCurve(opts.Checkpoint); err == nil {
					for _, p := range prev {
						if p.Step <= step {
							res.Curve = append(res.Curve, p)
						}
					}
				}
			}
		}
	}
	if !resumed {
		ctx.SetRNGStateFromSeed(cfg.Seed)
	}

	trainer := train.NewTrainer(backend, ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt, trainMetrics,
		[]metrics.Interface{metrics.NewSparseCategoricalAccuracy("Mean Accuracy", "#acc")})
	loop := train.NewLoop(trainer)
	spe := trainDS.StepsPerEpoch()
	trainDS.SeekStep(loop.LoopStep)
	total := cfg.Epochs * spe
	var evalTime time.Duration
	trainStart := time.Now()
	var hookErr error
	loop.OnStep("experiments-eval", 100, func(loop *train.Loop, ms []*tensors.Tensor) error {
		step := loop.LoopStep + 1
		if step%spe != 0 && (cfg.EvalEvery <= 0 || step%cfg.EvalEvery != 0) && step != total {
			return nil
		}
		t0 := time.Now()
		vals, err := trainer.Eval(valDS)
		if err != nil {
			hookErr = fmt.Errorf("run %q: evaluation at step %d: %w", cfg.Variant, step, err)
			return hookErr
		}
		p := EvalPoint{Step: step, Epoch: float64(step) / float64(spe),
			ValLoss: scalar(vals[1]), ValAccuracy: scalar(vals[len(vals)-1]), TrainLoss: scalar(ms[2]),
			Seconds: time.Since(trainStart).Seconds() - evalTime.Seconds()}
		res.Curve = append(res.Curve, p)
		if opts.Log != nil {
			_, _ = fmt.Fprintf(opts.Log, "%s seed %d: step %d (epoch %.2f): val acc %.4f, val loss %.4f, train loss %.4f\n",
				cfg.Variant, cfg.Seed, step, p.Epoch, p.ValAccuracy, p.ValLoss, p.TrainLoss)
		}
		if ckpt != nil && (step%spe == 0 || step == total) {
			if err := ckpt.Save(); err != nil {
				return fmt.Errorf("run %q: saving checkpoint in %q: %w", cfg.Variant, opts.Checkpoint, err)
			}
			if err := writeCurve(opts.Checkpoint, res.Curve); err != nil {
				return err
			}
		}
		evalTime += time.Since(t0)
		return nil
	})
	if opts.Progress {
		commandline.AttachProgressBar(loop)
	}
	if _, err := loop.RunToGlobalStep(trainDS, total); err != nil {
		if hookErr != nil {
			return nil, hookErr
		}
		return nil, fmt.Errorf("run %q seed %d: training: %w", cfg.Variant, cfg.Seed, err)
	}
	res.TrainSeconds = time.Since(trainStart).Seconds() - evalTime.Seconds()
	res.Steps = max(loop.LoopStep, res.ResumedFrom)
	if d := loop.TrainStepDurations; len(d) > 0 {
		rest := d
		if len(d) > 1 {
			rest = d[1:]
		}
		sum := time.Duration(0)
		for _, x := range rest {
			sum += x
		}
		res.MeanStepMs = float64(sum.Microseconds()) / 1000 / float64(len(rest))
		sorted := slices.Clone(d)
		slices.Sort(sorted)
		res.MedianStepMs = float64(sorted[len(sorted)/2].Microseconds()) / 1000
	}
	if n := len(res.Curve); n > 0 {
		res.FinalAccuracy, res.FinalLoss = res.Curve[n-1].ValAccuracy, res.Curve[n-1].ValLoss
	} else {
		return nil, fmt.Errorf("run %q seed %d: no evaluation was recorded", cfg.Variant, cfg.Seed)
	}
	res.WallSeconds = time.Since(start).Seconds()
	return res, nil
}

// scalar converts a scalar tensor to float64.
func scalar(t *tensors.Tensor) float64 { return shapes.ConvertTo[float64](t.Value()) }

// openCheckpoint creates the checkpoint handler of a run: with Resume, the newest checkpoint (if any) is
// attached to ctx and its variables are loaded as they are created; without Resume, a folder that already
// holds checkpoints is refused.
func openCheckpoint(ctx *context.Context, cfg RunConfig, opts RunOptions) (*checkpoints.Handler, error) {
	keep := opts.KeepCheckpoints
	if keep <= 0 {
		keep = 2
	}
	builder := checkpoints.Build(ctx).Dir(opts.Checkpoint).Keep(keep)
	if !opts.Resume {
		if entries, err := filepath.Glob(filepath.Join(opts.Checkpoint, "checkpoint-*")); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("run %q: checkpoint folder %q already holds checkpoints: use -resume to continue, or another folder",
				cfg.Variant, opts.Checkpoint)
		}
	}
	h, err := builder.Done()
	if err != nil {
		return nil, fmt.Errorf("run %q: checkpoint folder %q: %w", cfg.Variant, opts.Checkpoint, err)
	}
	return h, nil
}

// curveFile is the file, in the checkpoint folder, that keeps the learning curve of a run across resumptions.
const curveFile = "curve.json"

func writeCurve(dir string, curve []EvalPoint) error {
	data, err := json.MarshalIndent(curve, "", " ")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, curveFile)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("writing learning curve %q: %w", p, err)
	}
	return nil
}

func readCurve(dir string) ([]EvalPoint, error) {
	p := filepath.Join(dir, curveFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var curve []EvalPoint
	if err := json.Unmarshal(data, &curve); err != nil {
		return nil, fmt.Errorf("reading learning curve %q: %w", p, err)
	}
	return curve, nil
}

// newRunBackend creates the backend of one run: opts.Backend, with opts.BackendConfig for the Go backend.
func newRunBackend(opts RunOptions) (backends.Backend, error) {
	name := opts.Backend
	if name == "" {
		name = internalbackend.Name()
	}
	if internalbackend.IsGo(name) {
		b, err := simplego.New(opts.BackendConfig)
		if err != nil {
			return nil, fmt.Errorf("creating the Go backend with config %q: %w", opts.BackendConfig, err)
		}
		return b, nil
	}
	if opts.BackendConfig != "" {
		return nil, fmt.Errorf("backend config %q is for the Go backend, not for backend %q", opts.BackendConfig, name)
	}
	return internalbackend.New(name)
}
