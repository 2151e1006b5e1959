package experiments_test

import (
	"fmt"
	"os"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/experiments"
	"github.com/bio-transformations/go-bio/internal/synth"
	"github.com/bio-transformations/go-bio/models"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// trainTo trains a converted FCNet up to global step `steps`, saving a checkpoint in dir every 5 steps and
// resuming from the newest one there: the pattern of a training program of your own (see the README).
func trainTo(dir string, steps int) (weights string, resumedFrom int64, err error) {
	backend, err := backends.New() // the Go backend, with the options of $GOMLX_BACKEND (e.g. "go:ops_sequential")
	if err != nil {
		return "", 0, err
	}
	defer backend.Finalize()
	conv, err := bio.NewConverter(bio.DefaultConfig())
	if err != nil {
		return "", 0, err
	}
	modelFn := conv.Convert(models.FCNetConfig{Hidden: []int{16}, NumClasses: 10}.ModelFn)
	opt := conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(0.1).WithDecay(false).Done())

	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(1))
	// 1. Load the newest checkpoint, if any, every variable at once.
	ckpt, err := checkpoints.Build(ctx).Dir(dir).Keep(2).Immediate().Done()
	if err != nil {
		return "", 0, err
	}
	trainCtx := ctx
	if resumedFrom = optimizers.GetGlobalStep(ctx); resumedFrom > 0 {
		// 2. Checkpoints do not store the trainable flag: every variable comes back trainable. Mark the
		// state (bio's, the RNG, the optimizer's, GoMLX's metrics and trainer) non-trainable again.
		restoreFlags(ctx)
		// 3. The variables exist already: build the trainer on ctx.Reuse().
		trainCtx = ctx.Reuse()
	} else {
		ctx.SetRNGStateFromSeed(1)
	}
	trainer := train.NewTrainer(backend, trainCtx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
	loop := train.NewLoop(trainer)
	// 4. Continue the batch order where it stopped (Batches' order depends only on the seed and the step).
	data, err := experiments.NewTrainBatches("train", synth.Digits("train", 200, 1), 20, 1)
	if err != nil {
		return "", 0, err
	}
	data.SeekStep(int(resumedFrom))
	train.EveryNSteps(loop, 5, "checkpoint", 0, ckpt.OnStepFn)
	if _, err := loop.RunToGlobalStep(data, steps); err != nil {
		return "", 0, err
	}
	w := ctx.GetVariableByScopeAndName("/output/dense", "weights")
	return fmt.Sprint(w.MustValue().Value()), resumedFrom, nil
}

// restoreFlags marks the state variables non-trainable after a checkpoint load.
func restoreFlags(ctx *context.Context) {
	bio.RestoreTrainableFlags(ctx) // bio state, RNG, global step, optimizer, batch norm, metrics, trainer
}

// Example_resume trains 20 steps in one go, and 12 steps then resumed to 20 from the checkpoint of step 10:
// the weights end identical.
func Example_resume() {
	straightDir, _ := os.MkdirTemp("", "straight")
	resumedDir, _ := os.MkdirTemp("", "resumed")
	defer os.RemoveAll(straightDir)
	defer os.RemoveAll(resumedDir)
	straight, _, err := trainTo(straightDir, 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, _, err := trainTo(resumedDir, 12); err != nil { // "killed" after step 12: the newest checkpoint is at 10
		fmt.Println(err)
		return
	}
	resumed, from, err := trainTo(resumedDir, 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("resumed from step", from, "- same weights as the uninterrupted run:", resumed == straight)
	// Output: resumed from step 10 - same weights as the uninterrupted run: true
}
