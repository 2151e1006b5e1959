package bio_test

import (
	"fmt"
	"slices"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// An existing GoMLX model and training loop, converted by changing two lines.
func ExampleConverter_Convert() {
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		x := biolayers.Dense(ctx.In("hidden"), inputs[0], true, 16)
		return []*Node{biolayers.Dense(ctx.In("out"), activations.Relu(x), true, 3)}
	}

	cfg := bio.DefaultConfig() // the reference's defaults: fuzzy learning rates and rejuvenation on
	cfg.FuzzyLearningRateFactorNu = 0.09
	cfg.RejuvenationParameterDre = 14
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}

	backend := backends.MustNew()
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(1))
	trainer := train.NewTrainer(backend, ctx,
		conv.Convert(model), // was: model
		losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(0.3).Done()), // was: the plain SGD
		conv.Metrics(), nil)

	x, y := blobs(96, 3)
	var first, last float32
	for step := range 100 {
		metrics, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			first = metrics[0].Value().(float32)
		}
		last = metrics[0].Value().(float32)
	}
	fmt.Println("converted layers:", conv.LayerScopes(ctx))
	fmt.Println("loss fell below a tenth:", last < first/10)
	// Output:
	// converted layers: [/hidden/dense /out/dense]
	// loss fell below a tenth: true
}

// A configuration written for the Python package (BioConverter.from_dict) works unchanged.
// The reference's training loop with the stages of each layer run one after another: less memory held by
// the bio step, the same training.
func ExampleConverter_LowMemory() {
	cfg := bio.DefaultConfig()
	cfg.Crystallize, cfg.VolumeDependentLR = true, true // with fuzzy learning rates and rejuvenation: the reference's loop
	run := func(lowMemory bool) []float32 {
		conv, err := bio.NewConverter(cfg)
		if err != nil {
			panic(err)
		}
		if lowMemory {
			conv.LowMemory()
		}
		model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
			return []*Node{biolayers.Dense(ctx.In("out"), inputs[0], true, 3)}
		}
		ctx := context.New()
		ctx.SetParam(context.ParamInitialSeed, int64(1))
		trainer := train.NewTrainer(backends.MustNew(), ctx, conv.Convert(model), losses.SparseCategoricalCrossEntropyLogits,
			conv.Optimizer(optimizers.StochasticGradientDescent().Done()), nil, nil)
		x, y := blobs(30, 4)
		for range 5 {
			if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
				panic(err)
			}
		}
		return tensors.MustCopyFlatData[float32](ctx.GetVariableByScopeAndName("/out/dense", "weights").MustValue())
	}
	fmt.Println("same weights after 5 steps:", slices.Equal(run(false), run(true)))
	// Output:
	// same weights after 5 steps: true
}

func ExampleFromDict() {
	conv, err := bio.FromDict(map[string]any{
		"fuzzy_learning_rate_factor_nu": 0.09,
		"rejuvenation_parameter_dre":    14.0,
		"weight_splitting_Gamma":        2,
		"fuzzy_lr_distribution":         "Distribution.LOGNORMAL",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := conv.Config()
	fmt.Println(cfg.FuzzyLearningRateFactorNu, cfg.RejuvenationParameterDre, cfg.WeightSplittingGamma, cfg.FuzzyLRDistribution)

	_, err = bio.FromDict(map[string]any{"dampening_factor": 1.5})
	fmt.Println(err)
	// Output:
	// 0.09 14 2 lognormal
	// bio: dampening_factor = 1.5: must be in (0, 1)
}

// Layers are selected by scope: exact, leading part, glob, or a path element.
func ExampleMatches() {
	for _, p := range []string{"/model/fc1", "/model/*/dense", "fc1", "fc2", "/model/fc"} {
		fmt.Println(p, bio.Matches("/model/fc1/dense", p))
	}
	// Output:
	// /model/fc1 true
	// /model/*/dense true
	// fc1 true
	// fc2 false
	// /model/fc false
}
