package models_test

import (
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/bio-transformations/go-bio/models"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// bioTrainer is a converted FCNet 16-8-3 with the deterministic mechanisms (no per-step draws), so that a
// distributed step can be compared with a plain one.
func bioTrainer(t *testing.T, ctx *context.Context) *train.Trainer {
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{FuzzyLearningRates: true, Crystallize: true, ScaleGrad: true,
		ApplyDalesPrinciple: true, L1Reg: true}
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	model := models.FCNetConfig{Hidden: []int{8}, NumClasses: 3}.ModelFn
	return train.NewTrainer(testenv.Backend(), ctx, conv.Convert(model), losses.SparseCategoricalCrossEntropyLogits,
		conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(0.1).Done()), nil, nil)
}

func distributedBatch(t *testing.T, mesh *distributed.DeviceMesh, x, y *tensors.Tensor) (*distributed.Tensor, *distributed.Tensor) {
	spec, err := distributed.BuildSpec(mesh).S("data").Done()
	if err != nil {
		t.Fatal(err)
	}
	dx, err := distributed.NewTensor(spec, []*tensors.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	dy, err := distributed.NewTensor(spec, []*tensors.Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	return dx, dy
}

// TestDistributedBioStepOneDevice runs a bio training step under GoMLX's distributed strategies on a
// one-device mesh (data axis sharded). The Go backend has no distributed execution: the step must fail with
// GoMLX's "not implemented" error. Elsewhere (XLA), the step must give what the plain step gives.
func TestDistributedBioStepOneDevice(t *testing.T) {
	mesh, err := distributed.NewDeviceMesh([]int{1}, []string{"data"})
	if err != nil {
		t.Fatal(err)
	}
	for _, strategy := range []distributed.Strategy{distributed.AutoSharding, distributed.SPMD} {
		t.Run(strategy.String(), func(t *testing.T) {
			x, y := tinyBatch()
			ref := testenv.Context(5)
			refTrainer := bioTrainer(t, ref)
			if _, err := refTrainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
				t.Fatal(err)
			}
			ctx := testenv.Context(5)
			trainer := bioTrainer(t, ctx)
			x2, y2 := tinyBatch()
			dx, dy := distributedBatch(t, mesh, x2, y2)
			_, err := trainer.DistributedTrainStep(strategy, []backends.DeviceNum{0}, nil,
				[]*distributed.Tensor{dx}, []*distributed.Tensor{dy})
			if testenv.IsGo() {
				if err == nil || !strings.Contains(err.Error(), "not implemented") {
					t.Fatalf("Go backend, %s: got error %v, want GoMLX's \"not implemented\"", strategy, err)
				}
				t.Logf("Go backend, %s: %v", strategy, firstLine(err))
				return
			}
			if err != nil {
				t.Fatalf("%s on one device: %v", strategy, err)
			}
			compareWeights(t, ref, ctx)
		})
	}
}

func tinyBatch() (*tensors.Tensor, *tensors.Tensor) {
	x := make([]float32, 4*16)
	for i := range x {
		x[i] = float32((i*7)%11)/5 - 1
	}
	return tensors.FromFlatDataAndDimensions(x, 4, 16), tensors.FromFlatDataAndDimensions([]int32{0, 1, 2, 1}, 4, 1)
}

// compareWeights checks that the weights of two contexts agree within testenv.Tol.
func compareWeights(t *testing.T, a, b *context.Context) {
	t.Helper()
	for va := range a.IterVariables() {
		if !strings.HasSuffix(va.Name(), "weights") {
			continue
		}
		vb := b.GetVariableByScopeAndName(va.Scope(), va.Name())
		if vb == nil {
			t.Fatalf("%s missing", va.ScopeAndName())
		}
		ta, _ := va.Value()
		tb, _ := vb.Value()
		fa, fb := tensors.MustCopyFlatData[float32](ta), tensors.MustCopyFlatData[float32](tb)
		for i := range fa {
			d := float64(fa[i] - fb[i])
			if d < 0 {
				d = -d
			}
			if d > testenv.Tol(1e-6) {
				t.Fatalf("%s[%d]: %g vs %g", va.ScopeAndName(), i, fa[i], fb[i])
			}
		}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
