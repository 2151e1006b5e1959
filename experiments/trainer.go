package experiments

import (
	"fmt"
	"github.com/bio-transformations/go-bio/bio"
	"strings"

	internalbackend "github.com/bio-transformations/go-bio/internal/backend"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Trainer is the set-up of one training run, shared by Run, the gradient-inversion victims and the
// benchmarks so that a variant means the same thing everywhere:
//
//   - its own backend (runs in parallel goroutines do not share one): RunOptions.Backend, default
//     $GOMLX_BACKEND, else GoMLX's Go backend, which takes RunOptions.BackendConfig, or when that is empty the
//     options after "go:" (GoMLX's convention, e.g. GOMLX_BACKEND=go:ops_sequential);
//   - a fresh context whose initial seed is RunConfig.Seed;
//   - the model of RunConfig.Model and Width (RunOptions.Models, default PaperModels);
//   - inputs standardised by RunConfig.Normalize, when set;
//   - plain SGD at RunConfig.LR without decay (RunConfig.SplitStepFactor on the variables it names);
//   - for a run with a bio configuration, the bio mechanisms (RunOptions.Converter, default BioConverter)
//     wrapping the model and the optimizer, and their telemetry metrics;
//   - a moving-average training accuracy, and the validation accuracy as evaluation metric.
//
// Build makes the train.Trainer; Close releases the backend. The fields may be changed before Build (e.g.
// TrainMetrics = nil for a leaner step).
type Trainer struct {
	// Config is the run's configuration.
	Config RunConfig
	// Backend is the run's own backend.
	Backend backends.Backend
	// Context holds the run's variables and parameters.
	Context *context.Context
	// Model is the model function, converted when Config.Bio is set.
	Model train.ModelFn
	// Mechanisms are the bio mechanisms (nil for the baseline); *bio.Converter with the default converter.
	Mechanisms Mechanisms
	// Optimizer is plain SGD, wrapped by the mechanisms when set.
	Optimizer optimizers.Interface
	// TrainMetrics and EvalMetrics are given to train.NewTrainer.
	TrainMetrics, EvalMetrics []metrics.Interface
}

// TrainAccuracyMetric is the short name of the moving-average training accuracy, recorded at every
// evaluation as EvalPoint.TrainAccuracy.
const TrainAccuracyMetric = "~acc"

// NewTrainer sets up a run of cfg (see Trainer); it uses opts.Models, opts.Converter and opts.BackendConfig.
// It does not validate cfg (Run does) and does not seed the context's random-number state (a run resumed
// from a checkpoint takes it from there): call ctx.SetRNGStateFromSeed for a fresh run.
func NewTrainer(cfg RunConfig, opts RunOptions) (*Trainer, error) {
	models, converter := opts.Models, opts.Converter
	if models == nil {
		models = DefaultModels
	}
	if converter == nil {
		converter = BioConverter
	}
	var modelFn train.ModelFn
	var err error
	switch {
	case len(cfg.StageWidths) > 0 && opts.Models != nil:
		return nil, fmt.Errorf("run %q: stage_widths %v need the default models, not a RunOptions.Models factory", cfg.Variant, cfg.StageWidths)
	case len(cfg.StageWidths) > 0:
		modelFn, err = ResNetWithStageWidths(cfg.Model, cfg.StageWidths)
	default:
		modelFn, err = models(cfg.Model, cfg.Width)
	}
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	if cfg.Normalize != nil {
		modelFn = cfg.Normalize.wrap(modelFn)
	}
	var opt optimizers.Interface = optimizers.StochasticGradientDescent().WithDecay(false).WithLearningRate(cfg.LR).Done()
	if cfg.SplitStepFactor != 0 && cfg.SplitStepFactor != 1 {
		opt = &stepFactorOptimizer{gradientUpdater: opt.(gradientUpdater), factor: cfg.SplitStepFactor, match: splitStepVariable}
	}
	t := &Trainer{Config: cfg, Context: context.New(), Model: modelFn, Optimizer: opt,
		TrainMetrics: []metrics.Interface{
			metrics.NewMovingAverageSparseCategoricalAccuracy("Moving Average Accuracy", TrainAccuracyMetric, 0.01)},
		EvalMetrics: []metrics.Interface{metrics.NewSparseCategoricalAccuracy("Mean Accuracy", "#acc")},
	}
	t.Context.SetParam(context.ParamInitialSeed, cfg.Seed)
	if cfg.Bio != nil {
		if t.Mechanisms, err = converter(*cfg.Bio); err != nil {
			return nil, fmt.Errorf("run %q: bio converter: %w", cfg.Variant, err)
		}
		if opts.LowMemory {
			conv, ok := t.Mechanisms.(*bio.Converter)
			if !ok {
				return nil, fmt.Errorf("run %q: RunOptions.LowMemory needs a *bio.Converter, the converter gave %T", cfg.Variant, t.Mechanisms)
			}
			conv.LowMemory()
		}
		t.Model = t.Mechanisms.Convert(t.Model)
		t.Optimizer = t.Mechanisms.Optimizer(t.Optimizer)
		t.TrainMetrics = append(t.TrainMetrics, t.Mechanisms.Metrics()...)
	}
	if t.Backend, err = newRunBackend(opts); err != nil {
		return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
	}
	return t, nil
}

// newRunBackend creates the backend of one run: opts.Backend (default $GOMLX_BACKEND, else go). The Go
// backend gets opts.BackendConfig, or when that is empty the options after "go:" in the name (GoMLX's
// convention, e.g. GOMLX_BACKEND=go:ops_sequential).
func newRunBackend(opts RunOptions) (backends.Backend, error) {
	name := opts.Backend
	if name == "" {
		name = internalbackend.Name()
	}
	if !internalbackend.IsGo(name) {
		if opts.BackendConfig != "" {
			return nil, fmt.Errorf("backend config %q is for the Go backend, not for backend %q", opts.BackendConfig, name)
		}
		return internalbackend.New(name)
	}
	config := opts.BackendConfig
	if _, env, ok := strings.Cut(name, ":"); ok && config == "" {
		config = env
	}
	b, err := simplego.New(config)
	if err != nil {
		return nil, fmt.Errorf("creating the Go backend with config %q: %w", config, err)
	}
	return b, nil
}

// Build returns the train.Trainer of the run on ctx: t.Context itself for a fresh run or one resumed from a
// lazily loaded checkpoint, t.Context.Reuse() when the variables were created beforehand.
func (t *Trainer) Build(ctx *context.Context) *train.Trainer {
	return train.NewTrainer(t.Backend, ctx, t.Model, losses.SparseCategoricalCrossEntropyLogits, t.Optimizer,
		t.TrainMetrics, t.EvalMetrics)
}

// Close releases the backend.
func (t *Trainer) Close() { t.Backend.Finalize() }
