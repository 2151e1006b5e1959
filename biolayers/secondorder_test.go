package biolayers

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/regularizers"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// attackNet is a small network using every layer of the package (convolution with padding and stride,
// batch normalisation, max and average pooling, subsample/pad-channels shortcut, dense).
func attackNet(ctx *context.Context, x *graph.Node) *graph.Node {
	h := Convolution(ctx.In("c1"), x).Channels(3).KernelSize(3).PadSame().Done()
	h = BatchNorm(ctx.In("c1"), h, -1).Done()
	h = graph.Tanh(h)
	s := PadChannels(Subsample(h, 2), 1, 0)
	h = Convolution(ctx.In("c2"), h).Channels(4).KernelSize(3).Strides(2).PadSame().UseBias(false).Done()
	h = graph.Add(graph.Sin(h), s)
	h = MaxPool(h).Window(2).Strides(1).Done()
	h = AvgPool(h).Window(2).PadSame().Done()
	h = Flatten(h)
	h = graph.Tanh(Dense(ctx.In("d1"), h, true, 5))
	return Dense(ctx.In("d2"), h, true, 3)
}

// TestSecondOrderThroughNetwork checks the gradient-inversion pattern: the gradient, with respect to the
// input x, of the squared norm of the weight gradients (taken w.r.t. the variables' ValueGraph nodes) of a
// training graph, against finite differences.
func TestSecondOrderThroughNetwork(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	x := randTensor(rng, 2, 6, 6, 2)
	target := randTensor(rng, 2, 3)
	ctx := newCtx(7)
	fdCheckCtx(t, "second-order", ctx, func(ctx *context.Context, in []*graph.Node) *graph.Node {
		g := in[0].Graph()
		out := attackNet(ctx, in[0])
		loss := graph.ReduceAllSum(graph.Square(graph.Sub(out, in[1])))
		var vars []*graph.Node
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				vars = append(vars, v.ValueGraph(g))
			}
		}
		if len(vars) != 9 {
			t.Fatalf("expected 9 trainable variables in use, got %d", len(vars))
		}
		grads := graph.Gradient(loss, vars...)
		total := graph.ScalarZero(g, x.DType())
		for _, gr := range grads {
			total = graph.Add(total, graph.ReduceAllSum(graph.Square(gr)))
		}
		return total
	}, []*tensors.Tensor{x, target}, 12, 1e-5, 1e-4)
}

func TestDenseRegularizer(t *testing.T) {
	ctx := newCtx(1)
	ctx.SetParam(regularizers.ParamL2, 0.1)
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 3, 4)
	outs := context.MustExecOnceN(backend(), ctx, func(ctx *context.Context, x *graph.Node) []*graph.Node {
		_ = activations.Relu(Dense(ctx.In("a"), x, true, 2))
		loss := train.GetLosses(ctx, x.Graph())
		if loss == nil {
			t.Fatal("no regularization loss added")
		}
		w := ctx.InspectVariable("/a/dense", "weights").ValueGraph(x.Graph())
		return []*graph.Node{loss, graph.MulScalar(graph.ReduceAllSum(graph.Square(w)), 0.1)}
	}, x)
	assertClose(t, "L2 loss", flat(outs[0]), flat(outs[1]), 1e-12, 1e-9)
}
