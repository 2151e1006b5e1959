package bio_test

import (
	"testing"

	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/bio-transformations/go-bio/internal/benchvariants"
	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// BenchmarkStep measures one SGD training step of the paper's FCNet (784-1000-10, batch 100) without and
// with the bio mechanisms, to show what they cost next to the step itself. Compare the variants' ns/op,
// measured in one run: go test -run NONE -bench Step -benchtime 20x ./bio/
func BenchmarkStep(b *testing.B) {
	fcnet := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		x := biolayers.Dense(ctx.In("fc1"), inputs[0], true, 1000)
		return []*Node{biolayers.Dense(ctx.In("fc2"), activations.Relu(x), true, 10)}
	}
	backend := newBackend(b)
	x := tensors.FromShape(shapes.Make(dtypes.Float32, 100, 784))
	y := tensors.FromShape(shapes.Make(dtypes.Int32, 100, 1))
	for _, v := range benchvariants.All() {
		b.Run(v.ID, func(b *testing.B) {
			ctx := testenv.Context(1)
			model := train.ModelFn(fcnet)
			opt := optimizers.StochasticGradientDescent().WithLearningRate(0.01).Done()
			if v.Bio != nil {
				conv := mustConverter(b, *v.Bio)
				model, opt = conv.Convert(fcnet), conv.Optimizer(opt)
			}
			trainer := train.NewTrainer(backend, ctx, model, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
			step := func() {
				if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
					b.Fatal(err)
				}
			}
			step() // compile
			b.ResetTimer()
			for range b.N {
				step()
			}
		})
	}
}
