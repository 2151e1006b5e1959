package biolayers

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
)

// smallNetOurs and smallNetGoMLX are the same network (conv → batch norm → relu → conv (stride 2) → dense
// on the flattened features → dense), built with this package's layers and with GoMLX's.
func smallNetOurs(ctx *context.Context, x *graph.Node) *graph.Node {
	h := Convolution(ctx.In("c1"), x).Channels(4).KernelSize(3).PadSame().Done()
	h = BatchNorm(ctx.In("c1"), h, -1).Done()
	h = activations.Relu(h)
	h = Convolution(ctx.In("c2"), h).Channels(3).KernelSize(3).Strides(2).UseBias(false).Done()
	h = Flatten(h)
	h = activations.Relu(Dense(ctx.In("d1"), h, true, 5))
	return Dense(ctx.In("d2"), h, true, 3)
}

func smallNetGoMLX(ctx *context.Context, x *graph.Node) *graph.Node {
	h := layers.Convolution(ctx.In("c1"), x).Channels(4).KernelSize(3).PadSame().Done()
	h = batchnorm.New(ctx.In("c1"), h, -1).UseBackendInference(false).Done()
	h = activations.Relu(h)
	h = layers.Convolution(ctx.In("c2"), h).Channels(3).KernelSize(3).Strides(2).UseBias(false).Done()
	h = graph.Reshape(h, h.Shape().Dimensions[0], -1)
	h = activations.Relu(layers.Dense(ctx.In("d1"), h, true, 5))
	return layers.Dense(ctx.In("d2"), h, true, 3)
}

// TestCheckpointInterchange saves a checkpoint of a network built with this package, loads it into a
// fresh context, evaluates the same network built with GoMLX's layers, and compares the outputs; then the
// other way round.
func TestCheckpointInterchange(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	x := randTensor(rng, 3, 6, 6, 2)
	type netFn = func(*context.Context, *graph.Node) *graph.Node
	for _, dir := range []struct {
		name       string
		from, into netFn
	}{{"ours->gomlx", smallNetOurs, smallNetGoMLX}, {"gomlx->ours", smallNetGoMLX, smallNetOurs}} {
		t.Run(dir.name, func(t *testing.T) {
			tmp := t.TempDir()
			ctx := newCtx(5)
			// A training-mode call updates the batch-norm moving averages away from their initial values.
			_ = context.MustExecOnce(backend(), ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
				ctx.SetTraining(x.Graph(), true)
				return dir.from(ctx, x)
			}, x)
			want := context.MustExecOnce(backend(), ctx.Reuse(), dir.from, x)
			h := checkpoints.Build(ctx).Dir(tmp).MustDone()
			if err := h.Save(); err != nil {
				t.Fatal(err)
			}
			ctx2 := context.New()
			_ = checkpoints.Build(ctx2).Dir(tmp).MustDone() // loads
			got := context.MustExecOnce(backend(), ctx2.Reuse(), dir.into, x)
			assertClose(t, "outputs", flat(got), flat(want), 1e-12, 1e-9)
			// The second network found every variable it needed under the same names and shapes (Reuse
			// would create missing ones): compare the variable lists.
			names := func(c *context.Context) map[string]string {
				m := map[string]string{}
				for v := range c.IterVariables() {
					if v.Scope() != "/" { // skip /#rngState and the like
						m[v.ScopeAndName()] = v.Shape().String()
					}
				}
				return m
			}
			n1, n2 := names(ctx), names(ctx2)
			if len(n1) != 12 || len(n1) != len(n2) {
				t.Errorf("variables differ:\n%v\n%v", n1, n2)
			}
			for k, v := range n1 {
				if n2[k] != v {
					t.Errorf("variable %s: %s vs %s", k, v, n2[k])
				}
			}
		})
	}
}
