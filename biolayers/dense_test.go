package biolayers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
)

func TestFastMatMulGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dims := range [][3]int{{1, 1, 1}, {3, 4, 5}, {7, 2, 3}} {
		m, k, n := dims[0], dims[1], dims[2]
		x, w, r := randTensor(rng, m, k), randTensor(rng, k, n), randTensor(rng, m, n)
		name := fmt.Sprintf("%dx%dx%d", m, k, n)
		// Forward against Dot.
		got := graph.MustExecOnceN(backend(), func(x, w *graph.Node) []*graph.Node {
			return []*graph.Node{FastMatMul(x, w), graph.Dot(x, w)}
		}, x, w)
		assertClose(t, name+"/forward", flat(got[0]), flat(got[1]), 1e-12, 1e-12)
		// First order against GoMLX's automatic gradient of Dot (exact on small sizes).
		grads := graph.MustExecOnceN(backend(), func(x, w, r *graph.Node) []*graph.Node {
			a := graph.Gradient(graph.ReduceAllSum(graph.Mul(FastMatMul(x, w), r)), x, w)
			b := graph.Gradient(graph.ReduceAllSum(graph.Mul(graph.Dot(x, w), r)), x, w)
			return append(a, b...)
		}, x, w, r)
		assertClose(t, name+"/dx", flat(grads[0]), flat(grads[2]), 1e-12, 1e-10)
		assertClose(t, name+"/dw", flat(grads[1]), flat(grads[3]), 1e-12, 1e-10)
		// First order by finite differences on a nonlinear loss.
		fdCheck(t, name+"/fd1", func(in []*graph.Node) *graph.Node {
			return graph.ReduceAllSum(graph.Square(graph.Tanh(FastMatMul(in[0], in[1]))))
		}, []*tensors.Tensor{x, w}, 12, 1e-6, 1e-5)
		// Second order: d/dx and d/dw of sum((∂L/∂w)²) + sum((∂L/∂x)³).
		fdCheck(t, name+"/fd2", func(in []*graph.Node) *graph.Node {
			loss := graph.ReduceAllSum(graph.Square(graph.Tanh(FastMatMul(in[0], in[1]))))
			g := graph.Gradient(loss, in[0], in[1])
			return graph.Add(graph.ReduceAllSum(graph.Square(g[1])), graph.ReduceAllSum(graph.Mul(g[0], graph.Square(g[0]))))
		}, []*tensors.Tensor{x, w}, 12, 1e-5, 1e-4)
	}
}

// denseCase is one configuration of Dense tested against layers.Dense.
type denseCase struct {
	inDims  []int
	outDims []int
	bias    bool
}

func TestDenseMatchesGoMLX(t *testing.T) {
	cases := []denseCase{
		{[]int{5, 4}, []int{3}, true},
		{[]int{5, 4}, []int{3}, false},
		{[]int{2, 3, 4}, []int{3}, true},
		{[]int{2, 3, 4}, []int{2, 3}, true},
		{[]int{6, 4}, []int{2, 2}, false},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		name := fmt.Sprintf("in%v_out%v_bias%v", c.inDims, c.outDims, c.bias)
		t.Run(name, func(t *testing.T) {
			x := randTensor(rng, c.inDims...)
			ctx := newCtx(42)
			// Ours first: creates the variables; then GoMLX's layers.Dense reuses them (same names and shapes).
			outs := context.MustExecOnceN(backend(), ctx, func(ctx *context.Context, x *graph.Node) []*graph.Node {
				ours := Dense(ctx.In("layer"), x, c.bias, c.outDims...)
				loss := graph.ReduceAllSum(graph.Square(graph.Sin(ours)))
				var vars []*graph.Node
				for v := range ctx.IterVariables() {
					if v.Trainable && v.InUseByGraph(x.Graph()) {
						vars = append(vars, v.ValueGraph(x.Graph()))
					}
				}
				grads := graph.Gradient(loss, append([]*graph.Node{x}, vars...)...)
				ctx2 := ctx.Reuse()
				theirs := layers.Dense(ctx2.In("layer"), x, c.bias, c.outDims...)
				loss2 := graph.ReduceAllSum(graph.Square(graph.Sin(theirs)))
				grads2 := graph.Gradient(loss2, append([]*graph.Node{x}, vars...)...)
				res := []*graph.Node{ours, theirs}
				res = append(res, grads...)
				return append(res, grads2...)
			}, x)
			if !outs[0].Shape().Equal(outs[1].Shape()) {
				t.Fatalf("shapes differ: %s vs %s", outs[0].Shape(), outs[1].Shape())
			}
			assertClose(t, "forward", flat(outs[0]), flat(outs[1]), 1e-12, 1e-12)
			nGrads := (len(outs) - 2) / 2
			for i := 0; i < nGrads; i++ {
				assertClose(t, fmt.Sprintf("grad%d", i), flat(outs[2+i]), flat(outs[2+nGrads+i]), 1e-12, 1e-10)
			}
			wantVars := 1
			if c.bias {
				wantVars = 2
			}
			if nGrads-1 != wantVars {
				t.Errorf("got %d trainable variables, want %d", nGrads-1, wantVars)
			}
			if v := ctx.InspectVariable("/layer/dense", "weights"); v == nil {
				t.Errorf("variable /layer/dense/weights missing")
			}
		})
	}
}
