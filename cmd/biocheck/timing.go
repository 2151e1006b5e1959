package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/models"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Timing is the measured step time of one model and variant on the checked backend.
type Timing struct {
	Model   string `json:"model"`
	Variant string `json:"variant"`
	Batch   int    `json:"batch"`
	Steps   int    `json:"steps"`
	// CompileMS is the time of the first step (graph building and compilation included).
	CompileMS float64 `json:"first_step_ms"`
	MedianMS  float64 `json:"median_ms_per_step"`
	// OverheadPct is the median step time relative to the plain variant of the same model.
	OverheadPct float64 `json:"overhead_percent"`
}

// timedVariants: plain SGD on the unconverted model; "bio" the reference's defaults (fuzzy learning rates
// and rejuvenation); "bio-all" every mechanism (without weight splitting).
var timedVariants = []string{"plain", "bio", "bio-all"}

// runTimings times the variants of every model of -time-models on target.
func runTimings(o *options, target backends.Backend, rep *Report) error {
	for _, name := range splitList(o.timeModels) {
		model, dims, err := timedModel(name, o.fcnetWidth)
		if err != nil {
			return err
		}
		x, y := randomBatch(o.timeBatch, dims, uint64(o.seed))
		var plain float64
		for _, variant := range timedVariants {
			t, err := timeVariant(o, target, model, variant, x, y)
			if err != nil {
				return fmt.Errorf("timing %s %s: %w", name, variant, err)
			}
			t.Model = name
			if variant == "plain" {
				plain = t.MedianMS
			}
			if plain > 0 {
				t.OverheadPct = 100 * (t.MedianMS/plain - 1)
			}
			rep.Timings = append(rep.Timings, *t)
			rep.save(o.out)
			fmt.Printf("time %-12s %-8s first %8.1f ms, median %8.2f ms/step (%+.1f%%)\n", name, variant,
				t.CompileMS, t.MedianMS, t.OverheadPct)
		}
	}
	return nil
}

// timedModel returns the model function and the input dimensions (without batch) of a model name.
func timedModel(name string, fcnetWidth int) (train.ModelFn, []int, error) {
	switch name {
	case "fcnet":
		return models.FCNetConfig{Hidden: []int{fcnetWidth}, NumClasses: 10}.ModelFn, []int{784}, nil
	case "alexnetmini":
		return models.DefaultAlexNetMiniConfig().ModelFn, []int{32, 32, 3}, nil
	case "resnet20":
		return models.DefaultResNetConfig().ModelFn, []int{32, 32, 3}, nil
	}
	return nil, nil, fmt.Errorf("-time-models: %q is not a model; models: fcnet, alexnetmini, resnet20", name)
}

func timeVariant(o *options, target backends.Backend, model train.ModelFn, variant string, x, y *tensors.Tensor) (*Timing, error) {
	var opt = optimizers.StochasticGradientDescent().WithLearningRate(0.01).Done()
	if variant != "plain" {
		cfg := bio.DefaultConfig()
		cfg.Seed = o.seed
		if variant == "bio-all" {
			setAll(&cfg)
			cfg.WeightSplittingGamma = 0
		}
		conv, err := bio.NewConverter(cfg)
		if err != nil {
			return nil, err
		}
		model, opt = conv.Convert(model), conv.Optimizer(opt)
	}
	trainer := train.NewTrainer(target, seededContext(o.seed), model, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
	t := &Timing{Variant: variant, Batch: o.timeBatch, Steps: o.timeSteps}
	var times []float64
	for i := range o.timeSteps + 2 {
		start := time.Now()
		ms, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			return nil, err
		}
		_ = ms[0].Value() // waits for the device
		ms0 := float64(time.Since(start).Microseconds()) / 1000
		switch {
		case i == 0:
			t.CompileMS = ms0
		case i >= 2:
			times = append(times, ms0)
		}
	}
	slices.Sort(times)
	t.MedianMS = times[len(times)/2]
	return t, nil
}

// randomBatch is a batch of N(0,1) inputs [batch, dims...] and labels [batch, 1] in 0…9.
func randomBatch(batch int, dims []int, seed uint64) (*tensors.Tensor, *tensors.Tensor) {
	r := rand.New(rand.NewPCG(seed, 17))
	n := batch
	for _, d := range dims {
		n *= d
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(r.IntN(10))
	}
	return tensors.FromFlatDataAndDimensions(x, append([]int{batch}, dims...)...), tensors.FromFlatDataAndDimensions(y, batch, 1)
}
