package biolayers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// backend returns the backend shared by all tests: $GOMLX_BACKEND, the Go backend by default (testenv).
func backend() backends.Backend { return testenv.Backend() }

// randTensor returns a float64 tensor with N(0,1) values.
func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func flat(t *tensors.Tensor) []float64 {
	return tensors.MustCopyFlatData[float64](t)
}

// assertClose checks |a-b| <= atol + rtol*|b| elementwise. The tolerances are for the Go backend; on
// another backend (XLA), each is at least testenv.XLARelTol64, since XLA may order sums differently.
func assertClose(t *testing.T, name string, got, want []float64, atol, rtol float64) {
	t.Helper()
	atol, rtol = testenv.Tol64(atol), testenv.Tol64(rtol)
	if len(got) != len(want) {
		t.Fatalf("%s: length %d != %d", name, len(got), len(want))
	}
	worst, worstI := 0.0, -1
	for i := range got {
		d := math.Abs(got[i] - want[i])
		excess := d - (atol + rtol*math.Abs(want[i]))
		if excess > worst || math.IsNaN(d) {
			worst, worstI = excess, i
			if math.IsNaN(d) {
				break
			}
		}
	}
	if worstI >= 0 {
		t.Errorf("%s: element %d: got %g, want %g", name, worstI, got[worstI], want[worstI])
	}
}

// fdCheck compares the gradient of the scalar function f with respect to each of its inputs, as computed
// by graph.Gradient, with central finite differences on up to maxEntries randomly chosen entries per
// input. All inputs are float64 tensors.
func fdCheck(t *testing.T, name string, f func(inputs []*graph.Node) *graph.Node, inputs []*tensors.Tensor, maxEntries int, atol, rtol float64) {
	fdCheckCtx(t, name, nil, func(_ *context.Context, in []*graph.Node) *graph.Node { return f(in) }, inputs, maxEntries, atol, rtol)
}

// fdCheckCtx is fdCheck for a function of a context (nil: a fresh one; the graph is a training graph).
func fdCheckCtx(t *testing.T, name string, ctx *context.Context, f func(ctx *context.Context, inputs []*graph.Node) *graph.Node, inputs []*tensors.Tensor, maxEntries int, atol, rtol float64) {
	t.Helper()
	b := backend()
	if ctx == nil {
		ctx = testenv.Context(1)
	}
	valueExec := context.MustNewExec(b, ctx.Reuse(), func // runs after gradExec created the variables
	(ctx *context.Context, in []*graph.Node) *graph.Node {
		ctx.SetTraining(in[0].Graph(), true)
		return f(ctx, in)
	})
	gradExec := context.MustNewExec(b, ctx, func(ctx *context.Context, in []*graph.Node) []*graph.Node {
		ctx.SetTraining(in[0].Graph(), true)
		return graph.Gradient(f(ctx, in), in...)
	})
	args := make([]any, len(inputs))
	for i, x := range inputs {
		args[i] = x
	}
	grads := gradExec.MustExec(args...)
	rng := rand.New(rand.NewPCG(7, 11))
	const eps = 1e-5
	for i, x := range inputs {
		data := flat(x)
		dims := x.Shape().Dimensions
		analytic := flat(grads[i])
		idx := rng.Perm(len(data))
		if len(idx) > maxEntries {
			idx = idx[:maxEntries]
		}
		var got, want []float64
		for _, j := range idx {
			eval := func(delta float64) float64 {
				d2 := append([]float64(nil), data...)
				d2[j] += delta
				a2 := append([]any(nil), args...)
				a2[i] = tensors.FromFlatDataAndDimensions(d2, dims...)
				return flat(valueExec.MustExec(a2...)[0])[0]
			}
			numeric := (eval(eps) - eval(-eps)) / (2 * eps)
			got = append(got, analytic[j])
			want = append(want, numeric)
		}
		assertClose(t, name+"/input"+string(rune('0'+i)), got, want, atol, rtol)
	}
}

// newCtx returns a fresh context with a fixed seed.
func newCtx(seed int64) *context.Context { return testenv.Context(seed) }
