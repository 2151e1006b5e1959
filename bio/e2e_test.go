package bio_test

import (
	"math/rand/v2"
	"strings"
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

// TestGoMLXLayers trains GoMLX's own layers.Dense with every mechanism that needs no layer hook, and
// checks what each must leave behind; scale_grad, which needs the layers' outputs, is an error naming the
// layer.
func TestGoMLXLayers(t *testing.T) {
	backend := newBackend(t)
	cfg := bio.DefaultConfig()
	cfg.FuzzyLearningRateFactorNu = 0.09
	cfg.Crystallize, cfg.VolumeDependentLR, cfg.L1Reg, cfg.ApplyDalesPrinciple = true, true, true, true
	cfg.BaseLR = 1 // with the default 0.1 the volume factor divides the learning rate by ~10
	cfg.RejuvenationParameterDre = 3
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conv.RecordTelemetry()
	ctx := testenv.Context(1)
	trainer := train.NewTrainer(backend, ctx, conv.Convert(mlp), losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(0.5).Done()), nil, nil)
	x, y := blobs(96, 3)
	for range 100 {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			t.Fatal(err)
		}
	}
	// Dale's principle holds for every weight (GoMLX's layers get the projection, not the initialisation).
	for _, l := range conv.Layers(ctx) {
		sign := values(t, l.Signs(ctx))
		for i, w := range values(t, l.Weights) {
			if w*sign[i] < 0 {
				t.Fatalf("%s: W[%d] = %g against its input unit's sign %g", l.Scope, i, w, sign[i])
			}
		}
	}
	stats, err := conv.Telemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		// The factors started in [0.91, 1.09]; crystallization only dampens them (δ = 0.6).
		if s.FactorMax > 1.09+1e-6 || s.FactorMin <= 0 || s.Rejuvenated <= 0 || s.Rejuvenated >= 1 {
			t.Fatalf("%s: %+v: factors outside (0, 1.09] or no/all weights rejuvenated", s.Scope, s)
		}
	}

	t.Run("scale_grad needs layer outputs", func(t *testing.T) {
		cfg := bio.DefaultConfig()
		cfg.ScaleGrad = true
		conv, err := bio.NewConverter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		trainer := train.NewTrainer(backend, testenv.Context(2), conv.Convert(mlp), losses.SparseCategoricalCrossEntropyLogits,
			conv.Optimizer(optimizers.StochasticGradientDescent().Done()), nil, nil)
		_, err = trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err == nil || !strings.Contains(err.Error(), `"/hidden/dense"`) || !strings.Contains(err.Error(), "LayerOutput") {
			t.Fatalf("want an error naming the layer /hidden/dense and bio.LayerOutput, got %v", err)
		}
	})
}
