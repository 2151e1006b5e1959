package biolayers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
)

func TestBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	const B, H, C = 4, 3, 2
	x := randTensor(rng, B, H, C)
	ctx := newCtx(3)
	bnTrain := context.MustNewExec(backend(), ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		ctx.SetTraining(x.Graph(), true)
		return BatchNorm(ctx.In("bn"), x, -1).Epsilon(1e-5).Done()
	})
	got := flat(bnTrain.MustExec(x)[0])
	// Plain-Go reference: per-channel batch statistics over B and H.
	d := flat(x)
	mean, variance := make([]float64, C), make([]float64, C)
	for i, v := range d {
		mean[i%C] += v / (B * H)
	}
	for i, v := range d {
		variance[i%C] += (v - mean[i%C]) * (v - mean[i%C]) / (B * H)
	}
	want := make([]float64, len(d))
	for i, v := range d {
		want[i] = (v - mean[i%C]) / math.Sqrt(variance[i%C]+1e-5)
	}
	assertClose(t, "training forward", got, want, 1e-12, 1e-10)
	// After one training step, the debiased moving averages equal the batch statistics.
	assertClose(t, "moving mean", flat(ctx.InspectVariable("/bn/batch_normalization", "mean").MustValue()), mean, 1e-12, 1e-10)
	assertClose(t, "moving variance", flat(ctx.InspectVariable("/bn/batch_normalization", "variance").MustValue()), variance, 1e-12, 1e-10)
	for _, name := range []string{"mean", "variance", "avg_weight"} {
		if ctx.InspectVariable("/bn/batch_normalization", name).Trainable {
			t.Errorf("%s should not be trainable", name)
		}
	}
	// Inference: uses the averages, equal to GoMLX's batchnorm on the same variables.
	outs := context.MustExecOnceN(backend(), ctx.Reuse(), func(ctx *context.Context, x *graph.Node) []*graph.Node {
		ours := BatchNorm(ctx.In("bn"), x, -1).Epsilon(1e-5).Done()
		// GoMLX's default path uses the fused op BatchNormForInference, missing in SimpleGo.
		theirs := batchnorm.New(ctx.In("bn"), x, -1).Epsilon(1e-5).UseBackendInference(false).Done()
		return []*graph.Node{ours, theirs}
	}, x)
	assertClose(t, "inference", flat(outs[0]), want, 1e-12, 1e-10)
	assertClose(t, "inference vs GoMLX", flat(outs[0]), flat(outs[1]), 1e-12, 1e-10)

	// Gradients (training mode, through the batch statistics), first and second order.
	scale := randTensor(rng, C)
	f := func(ctx *context.Context, in []*graph.Node) *graph.Node {
		y := BatchNorm(ctx.In("bn2"), in[0], -1).Done()
		return graph.ReduceAllSum(graph.Mul(graph.Sin(y), graph.Reshape(in[1], 1, 1, C)))
	}
	fdCheckCtx(t, "bn first", newCtx(4), f, []*tensors.Tensor{x, scale}, 12, 1e-6, 1e-5)
	fdCheckCtx(t, "bn second", newCtx(4), func(ctx *context.Context, in []*graph.Node) *graph.Node {
		g := graph.Gradient(f(ctx, in), in[0])[0]
		return graph.ReduceAllSum(graph.Square(g))
	}, []*tensors.Tensor{x, scale}, 12, 1e-5, 1e-4)
}
