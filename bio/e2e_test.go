package bio_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// blobs generates a 3-class problem: Gaussian clusters in 8 dimensions.
func blobs(n int, seed uint64) (*tensors.Tensor, *tensors.Tensor) {
	r := rand.New(rand.NewPCG(seed, 7))
	centers := make([][]float32, 3)
	for c := range centers {
		centers[c] = make([]float32, 8)
		for j := range centers[c] {
			centers[c][j] = float32(rand.New(rand.NewPCG(uint64(c), uint64(j))).NormFloat64() * 2)
		}
	}
	x := make([][]float32, n)
	y := make([][]int32, n)
	for i := range x {
		c := i % 3
		x[i] = make([]float32, 8)
		for j := range x[i] {
			x[i][j] = centers[c][j] + float32(r.NormFloat64())
		}
		y[i] = []int32{int32(c)}
	}
	return tensors.FromValue(x), tensors.FromValue(y)
}

func mlp(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	x := layers.Dense(ctx.In("hidden"), inputs[0], true, 16)
	x = activations.Relu(x)
	return []*graph.Node{layers.Dense(ctx.In("out"), x, true, 3)}
}

func newBackend(testing.TB) backends.Backend { return testenv.Backend() }

func TestEndToEndAllMechanismsLossFalls(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRateFactorNu = 0.09
	cfg.RejuvenationParameterDre = 14
	cfg.Crystallization = true
	cfg.VolumeDependentLR = true
	cfg.BaseLR = 1 // with the default 0.1 the volume factor divides the learning rate by ~10
	cfg.SynapticScaling = true
	cfg.L1Regularization = true
	cfg.ApplyDalesPrinciple = true
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(1)
	trainer := train.NewTrainer(backend, ctx, conv.Convert(mlp), losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(0.5).Done()), conv.Metrics(), nil)
	x, y := blobs(96, 3)
	var first, last float64
	for step := range 200 {
		ms, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		loss := ms[0].Value().(float32)
		if step == 0 {
			first = float64(loss)
		}
		last = float64(loss)
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < first*0.6) || math.IsNaN(last) {
		t.Fatalf("loss did not fall: %.4f -> %.4f", first, last)
	}
	stats, err := conv.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("telemetry of %d layers, want 2", len(stats))
	}
	for _, s := range stats {
		t.Logf("%+v", s)
	}
}
