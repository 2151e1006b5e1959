package bio

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// CreateState creates and initialises now the bio state of every converted layer of ctx — fuzzy factors,
// Dale's signs, activities, RNG states — which the training step otherwise creates at its first run, so
// that code reading it before the first step (an attack on the first update, a custom step) finds it. The
// layers' kernels must exist (build the model once, e.g. with context.ExecOnce, or load a checkpoint).
// Existing state is kept.
func (c *Converter) CreateState(backend backends.Backend, ctx *context.Context) error {
	p := c.snapshot()
	layers := p.discoverLayers(ctx)
	if len(layers) == 0 {
		return fmt.Errorf("bio: CreateState: the context has no converted layers (variables \"weights\" in " +
			"scopes ending in /dense or /conv): build the model once first")
	}
	for _, l := range layers {
		l.factorsVar(ctx)
		l.rngVar(ctx)
		if p.cfg.ApplyDalesPrinciple {
			l.signsVar(ctx)
		}
		if needsActivity(p.cfg) {
			l.activityVar(ctx)
		}
	}
	if err := ctx.InitializeVariables(backend, nil); err != nil {
		return fmt.Errorf("bio: CreateState: %w", err)
	}
	return nil
}

// Factors returns the layer's plasticity factors s (fuzzy learning rates, dampened by crystallization), or
// nil before they exist (see Converter.CreateState).
func (l *Layer) Factors(ctx *context.Context) *context.Variable {
	return l.existingStateVar(ctx, "fuzzy_factors")
}

// Signs returns Dale's signs of the layer (one ±1 per input unit, broadcast to the kernel's shape), or nil
// before they exist.
func (l *Layer) Signs(ctx *context.Context) *context.Variable {
	return l.existingStateVar(ctx, "dale_sign")
}

// Activity returns the running activity of the layer's output units (−1 before the first observation), or
// nil before it exists.
func (l *Layer) Activity(ctx *context.Context) *context.Variable {
	return l.existingStateVar(ctx, "activity")
}

// RestoreTrainableFlags marks as non-trainable the variables that GoMLX and this library keep as state —
// everything under StateScope, the RNG state "#rngState", "global_step", the learning rate and optimizer
// scopes (Adam's moments), batch-normalisation statistics, the metrics' moving averages and the trainer's
// own state ("/trainer") — after loading
// a checkpoint, which does not store the trainable flag (so every variable comes back trainable, and Adam
// would then "train" the RNG state). Call it once, after loading and before the first training step.
func RestoreTrainableFlags(ctx *context.Context) {
	for v := range ctx.IterVariables() {
		if v.Trainable && isStateVariable(v.Scope(), v.Name()) {
			v.SetTrainable(false)
		}
	}
}

// isStateVariable recognises non-trainable variables by GoMLX's and this library's naming conventions:
// exact names and scopes, so that no user layer is frozen by accident.
func isStateVariable(scope, name string) bool {
	first := strings.SplitN(strings.TrimPrefix(scope, "/"), "/", 2)[0]
	last := scope[strings.LastIndex(scope, "/")+1:]
	switch {
	case scope == StateScope || strings.HasPrefix(scope, StateScope+"/"):
		return true
	case name == context.RNGStateVariableName || name == optimizers.GlobalStepVariableName:
		return true
	case first == optimizers.Scope || strings.HasSuffix(first, "Optimizer"): // learning rate; Adam's moments and step
		return true
	case first == metrics.Scope: // GoMLX's metrics keep their moving averages and means there
		return true
	case "/"+first == train.TrainerAbsoluteScope: // the trainer's own state, e.g. train_last_global_step
		return true
	case first == train.AccumulatedGradientsScope: // gradients accumulated over steps
		return true
	case last == "batch_normalization":
		return name == "mean" || name == "variance" || name == "avg_weight"
	}
	return false
}
