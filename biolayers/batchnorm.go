package biolayers

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
)

// BatchNormBuilder configures a batch normalisation created by BatchNorm; finish with Done.
type BatchNormBuilder struct {
	ctx           *context.Context
	x             *graph.Node
	featureAxis   int
	momentum, eps float64
	center, scale bool
	newScope      bool
	frozen        bool
}

// BatchNorm prepares a batch normalisation of x over all axes but featureAxis (negative values count
// from the end; −1 for channels-last images), trainable on the pure-Go backend and differentiable to any
// order.
//
// Variables (the same as GoMLX's batchnorm.New, so checkpoints are interchangeable), in the sub-scope
// "batch_normalization": trainable `scale` (init 1) and `offset` (init 0); non-trainable `mean` (init 0),
// `variance` (init 1) and `avg_weight` (the number of averaged steps, per feature).
//
// In graphs where ctx.IsTraining(g) is true, x is normalised with the batch mean and (biased) variance,
// and the gradient flows through them (as in PyTorch; GoMLX's own direct graph version stops the gradient
// at the batch statistics); the moving averages are updated in the same graph, with GoMLX's debiased rule:
// w ← w+1, m = min(momentum, 1−1/w), avg ← m·avg + (1−m)·batch. Otherwise the moving averages are used.
// Defaults as GoMLX: momentum 0.99, epsilon 1e-3 (PyTorch's defaults correspond to Momentum(0.9),
// Epsilon(1e-5)). Note: PyTorch's running variance uses the unbiased batch variance, this one the biased.
//
// GoMLX's batchnorm.New does not run on the Go backend by default: it uses the fused ops
// BatchNormForTraining/BatchNormForInference, not implemented in SimpleGo; with UseBackendInference(false)
// it runs, but its training gradient ignores the dependence of the batch statistics on x.
func BatchNorm(ctx *context.Context, x *graph.Node, featureAxis int) *BatchNormBuilder {
	return &BatchNormBuilder{ctx: ctx, x: x, featureAxis: featureAxis, momentum: 0.99, eps: 1e-3, center: true, scale: true, newScope: true}
}

// Momentum sets the momentum of the moving averages (default 0.99; PyTorch's momentum 0.1 is 0.9 here).
func (b *BatchNormBuilder) Momentum(m float64) *BatchNormBuilder {
	b.momentum = m
	return b
}

// Epsilon sets the constant added to the variance (default 1e-3).
func (b *BatchNormBuilder) Epsilon(eps float64) *BatchNormBuilder {
	b.eps = eps
	return b
}

// Center sets whether a learned offset is added (default true).
func (b *BatchNormBuilder) Center(center bool) *BatchNormBuilder {
	b.center = center
	return b
}

// Scale sets whether a learned scale multiplies the normalised value (default true).
func (b *BatchNormBuilder) Scale(scale bool) *BatchNormBuilder {
	b.scale = scale
	return b
}

// CurrentScope creates the variables in the given scope instead of a "batch_normalization" sub-scope.
func (b *BatchNormBuilder) CurrentScope() *BatchNormBuilder {
	b.newScope = false
	return b
}

// FrozenAverages makes training graphs normalise with the moving averages and never update them.
func (b *BatchNormBuilder) FrozenAverages(frozen bool) *BatchNormBuilder {
	b.frozen = frozen
	return b
}

// Done creates the variables and returns the normalised x (same shape as x).
func (b *BatchNormBuilder) Done() *graph.Node {
	x := b.x
	g := x.Graph()
	ctx := b.ctx
	if b.newScope {
		ctx = ctx.In("batch_normalization")
	}
	axis := b.featureAxis
	if axis < 0 {
		axis += x.Rank()
	}
	if axis < 0 || axis >= x.Rank() {
		panicf("BatchNorm: feature axis %d invalid for %s", b.featureAxis, x.Shape())
	}
	dtype := x.DType()
	nFeat := x.Shape().Dimensions[axis]
	varShape := shapes.Make(dtype, nFeat)
	bcast := make([]int, x.Rank())
	var reduceAxes []int
	for i := range bcast {
		bcast[i] = 1
		if i != axis {
			reduceAxes = append(reduceAxes, i)
		}
	}
	bcast[axis] = nFeat

	var scale, offset *graph.Node
	if b.scale {
		scale = ctx.WithInitializer(initializers.One).VariableWithShape("scale", varShape).SetTrainable(true).ValueGraph(g)
	}
	if b.center {
		offset = ctx.WithInitializer(initializers.Zero).VariableWithShape("offset", varShape).SetTrainable(true).ValueGraph(g)
	}
	meanVar := ctx.WithInitializer(initializers.Zero).VariableWithShape("mean", varShape).SetTrainable(false)
	varianceVar := ctx.WithInitializer(initializers.One).VariableWithShape("variance", varShape).SetTrainable(false)
	weightVar := ctx.WithInitializer(initializers.Zero).VariableWithShape("avg_weight", varShape).SetTrainable(false)

	// y = (x − mean)·a + offset with a = scale/√(variance+ε), per feature: the per-feature factors are
	// combined first, so that only three full-size broadcasting ops are needed.
	var centered, variance *graph.Node
	if ctx.IsTraining(g) && !b.frozen {
		mean := graph.ReduceAndKeep(x, graph.ReduceMean, reduceAxes...)
		centered = graph.Sub(x, mean)
		variance = graph.ReduceMean(graph.Square(centered), reduceAxes...) // [nFeat]
		// Moving averages (no gradient).
		bm := graph.StopGradient(graph.Reshape(mean, nFeat))
		bv := graph.StopGradient(variance)
		w := graph.OnePlus(weightVar.ValueGraph(g))
		weightVar.SetValueGraph(w)
		m := graph.Min(graph.Scalar(g, dtype, b.momentum), graph.OneMinus(graph.Reciprocal(w)))
		meanVar.SetValueGraph(graph.Add(graph.Mul(m, meanVar.ValueGraph(g)), graph.Mul(graph.OneMinus(m), bm)))
		varianceVar.SetValueGraph(graph.Add(graph.Mul(m, varianceVar.ValueGraph(g)), graph.Mul(graph.OneMinus(m), bv)))
	} else {
		centered = graph.Sub(x, graph.Reshape(meanVar.ValueGraph(g), bcast...))
		variance = varianceVar.ValueGraph(g)
	}
	a := graph.Reciprocal(graph.Sqrt(graph.AddScalar(variance, b.eps))) // (Rsqrt has no gradient)
	if scale != nil {
		a = graph.Mul(a, scale)
	}
	y := graph.Mul(centered, graph.Reshape(a, bcast...))
	if offset != nil {
		y = graph.Add(y, graph.Reshape(offset, bcast...))
	}
	return y
}
