package bio

import (
	"hash/fnv"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// StateScope is the root scope under which the library keeps its state, per converted layer:
// "/bio<layer scope>/<name>" (fuzzy factors, Dale signs, activity, RNG state, telemetry).
const StateScope = "/bio"

// LayerKind tells how a layer's kernel is laid out.
type LayerKind string

const (
	// DenseLayer kernels are [in, out...]: input units on axis 0, output units on the others.
	DenseLayer LayerKind = "dense"
	// ConvLayer kernels are [k..., in, out] (channels-last, GoMLX's default) or [out, in, k...] (marked with
	// Converter.ChannelsFirst).
	ConvLayer LayerKind = "conv"
)

// Layer is the Go counterpart of the reference's BioModule: the handle of one converted layer (one synapse
// kernel). It carries the configuration of the converter that made it, so its behaviour does not change
// when the converter is updated later. Its methods build one mechanism each into a graph, for custom
// training steps; the Converter's Optimizer and model wrapper run the same code at every step.
type Layer struct {
	// Scope of the layer, e.g. "/model/fc1/dense": the scope of its "weights" variable.
	Scope string
	// Kind is DenseLayer or ConvLayer.
	Kind LayerKind
	// Weights is the layer's kernel variable.
	Weights *context.Variable
	// InputAxis is the kernel axis of the presynaptic units: 0 for Dense [in, out...], rank−2 for
	// convolutions [k..., in, out], 1 for channels-first convolutions [out, in, k...].
	InputAxis int
	// OutputAxes are the kernel axes of the postsynaptic units: 1.. for Dense, rank−1 for convolutions,
	// 0 for channels-first convolutions.
	OutputAxes []int
	// Position and Count give the layer's place among the converted layers (LayerAdaptive's l and L).
	Position, Count int

	cfg Config
}

// Module is the reference's name for a converted layer.
//
// Deprecated: use Layer.
type Module = Layer

// Config returns the configuration the layer was converted with.
func (l *Layer) Config() Config { return l.cfg }

// discoverLayers lists the converted layers of ctx under plan p: every trainable "weights" variable in a
// scope ending in "/dense" or "/conv", selected by the include/exclude patterns, in the order the variables
// were created (for a model built from scratch, the order of its layers).
func (p *plan) discoverLayers(ctx *context.Context) []*Layer {
	var layers []*Layer
	for v := range ctx.IterVariables() {
		if v.Name() != "weights" || !v.Trainable || strings.HasPrefix(v.Scope(), StateScope+"/") {
			continue
		}
		if l := p.newLayer(v); l != nil {
			layers = append(layers, l)
		}
	}
	for i, l := range layers {
		l.Position, l.Count = i, len(layers)
		if p.cfg.FuzzyLRLayerIndex >= 0 {
			l.Position = p.cfg.FuzzyLRLayerIndex
		}
		if p.cfg.FuzzyLRTotalLayers >= 0 {
			l.Count = p.cfg.FuzzyLRTotalLayers
		}
	}
	return layers
}

// newLayer returns the layer handle of kernel v, or nil when v is not a converted kernel.
func (p *plan) newLayer(v *context.Variable) *Layer {
	scope, rank := v.Scope(), v.Shape().Rank()
	if !p.selected(scope) {
		return nil
	}
	l := &Layer{Scope: scope, Weights: v, cfg: p.cfg}
	switch {
	case strings.HasSuffix(scope, "/dense") && rank >= 2:
		l.Kind, l.InputAxis = DenseLayer, 0
		for a := 1; a < rank; a++ {
			l.OutputAxes = append(l.OutputAxes, a)
		}
	case strings.HasSuffix(scope, "/conv") && rank >= 3 && matchesAny(scope, p.channelsFirst):
		l.Kind, l.InputAxis, l.OutputAxes = ConvLayer, 1, []int{0}
	case strings.HasSuffix(scope, "/conv") && rank >= 3:
		l.Kind, l.InputAxis, l.OutputAxes = ConvLayer, rank-2, []int{rank - 1}
	default:
		return nil
	}
	return l
}

// unitsShape is the shape of one value per output unit.
func (l *Layer) unitsShape() shapes.Shape {
	dims := make([]int, len(l.OutputAxes))
	for i, a := range l.OutputAxes {
		dims[i] = l.Weights.Shape().Dimensions[a]
	}
	return shapes.Make(l.Weights.DType(), dims...)
}

// seedFor derives the seed of one draw from the configured seed, the layer and the purpose, so every draw
// is reproducible and independent of the order in which graphs are built.
func seedFor(seed int64, scope, purpose string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(scope + "#" + purpose))
	return seed ^ int64(h.Sum64()&0x7fffffffffffffff)
}

// stateCtx is the context scope of the layer's state variables.
func (l *Layer) stateCtx(ctx *context.Context) *context.Context {
	return ctx.InAbsPath(StateScope + l.Scope).Checked(false)
}

// stateVar creates (or fetches) the non-trainable state variable `name` of the layer. Fetching repairs the
// trainable flag, which checkpoints do not store.
func (l *Layer) stateVar(ctx *context.Context, name string, shape shapes.Shape, init func(g *Graph, s shapes.Shape) *Node) *context.Variable {
	return l.stateCtx(ctx).WithInitializer(init).VariableWithShape(name, shape).SetTrainable(false)
}

// existingStateVar returns the state variable `name` of the layer if it exists, else nil.
func (l *Layer) existingStateVar(ctx *context.Context, name string) *context.Variable {
	return ctx.GetVariableByScopeAndName(StateScope+l.Scope, name)
}

// rngVar is the layer's own RNG state for its per-step draws (volume factors, rejuvenation, re-drawn
// factors), seeded from Config.Seed and the layer's scope: the draws of a layer do not depend on the other
// layers, on the order in which layers are met (a context loaded from a checkpoint lists its variables in
// another order), nor on the model's own random numbers (dropout, initialisation).
func (l *Layer) rngVar(ctx *context.Context) *context.Variable {
	seed := seedFor(l.cfg.Seed, l.Scope, "steps")
	return l.stateVar(ctx, "rng_state", RNGStateShape, func(g *Graph, _ shapes.Shape) *Node {
		return RNGStateFromSeedForGraph(g, seed)
	})
}

// rngStream threads a layer's RNG state through the graph being built.
type rngStream struct {
	v     *context.Variable
	state *Node
}

func (l *Layer) newRNG(ctx *context.Context, g *Graph) *rngStream {
	v := l.rngVar(ctx)
	return &rngStream{v: v, state: v.ValueGraph(g)}
}

// uniform draws U[0, 1) of the given shape.
func (r *rngStream) uniform(shape shapes.Shape) *Node {
	var u *Node
	r.state, u = RandomUniform(r.state, shape)
	return u
}

// uniformPair draws two independent U[0, 1) tensors of the given shape, from the stream and from a second
// stream split off it (RNGStateSplit): neither draw waits for the other, so the Go backend generates their
// bits on two cores at once.
func (r *rngStream) uniformPair(shape shapes.Shape) (u1, u2 *Node) {
	var other *Node
	r.state, other = RNGStateSplit(r.state)
	r.state, u1 = RandomUniform(r.state, shape)
	_, u2 = RandomUniform(other, shape)
	return u1, u2
}

// waitFor makes the stream's next draw wait for zero, a scalar 0 (see zeroAfter): the state is offset by it.
func (r *rngStream) waitFor(zero *Node) {
	r.state = Add(r.state, ConvertDType(zero, r.state.DType()))
}

// save stores the advanced RNG state in the layer's variable.
func (r *rngStream) save() { r.v.SetValueGraph(r.state) }
