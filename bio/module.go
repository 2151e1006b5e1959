package bio

import (
	"hash/fnv"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// StateScope is the root scope under which the library keeps its state, per converted layer:
// "/bio<layer scope>/<name>" (fuzzy factors, Dale signs, activity, RNG state, telemetry).
const StateScope = "/bio"

// Module is the Go counterpart of the reference's BioModule: the handle of one converted layer (one synapse
// kernel). Its methods build the mechanisms into a graph; the Converter's Optimizer calls them at every
// step, and they can be used directly in a custom training step.
type Module struct {
	// Scope of the layer, e.g. "/model/fc1/dense": the scope of its "weights" variable.
	Scope string
	// Kind is "dense" or "conv".
	Kind string
	// Weights is the layer's kernel variable.
	Weights *context.Variable
	// InputAxis is the kernel axis of the presynaptic units: 0 for Dense [in, out...], rank−2 for
	// convolutions [k..., in, out], 1 for channels-first convolutions [out, in, k...] (see ChannelsFirst).
	InputAxis int
	// OutputAxes are the kernel axes of the postsynaptic units: 1.. for Dense, rank−1 for convolutions,
	// 0 for channels-first convolutions.
	OutputAxes []int
	// Index and Total give the position of the layer among the converted layers (LayerAdaptive's l and L).
	Index, Total int

	conv *Converter
}

// Layers discovers the converted layers of ctx: every "weights" variable in a scope ending in "/dense" or
// "/conv", selected by Include/Exclude, in the order the variables were created (for a model built from
// scratch, the order of the layers). Variables that are not trainable (frozen layers) are left out.
func (c *Converter) Layers(ctx *context.Context) []*Module {
	var mods []*Module
	for v := range ctx.IterVariables() {
		if v.Name() != "weights" || !v.Trainable || strings.HasPrefix(v.Scope(), StateScope+"/") {
			continue
		}
		scope := v.Scope()
		rank := v.Shape().Rank()
		m := &Module{Scope: scope, Weights: v, conv: c}
		switch {
		case strings.HasSuffix(scope, "/dense") && rank >= 2:
			m.Kind, m.InputAxis = "dense", 0
			for a := 1; a < rank; a++ {
				m.OutputAxes = append(m.OutputAxes, a)
			}
		case strings.HasSuffix(scope, "/conv") && rank >= 3 && c.channelsFirst(scope):
			m.Kind, m.InputAxis, m.OutputAxes = "conv", 1, []int{0}
		case strings.HasSuffix(scope, "/conv") && rank >= 3:
			m.Kind, m.InputAxis, m.OutputAxes = "conv", rank-2, []int{rank - 1}
		default:
			continue
		}
		if !c.selected(scope) {
			continue
		}
		mods = append(mods, m)
	}
	cfg := c.GetConfig()
	for i, m := range mods {
		m.Index, m.Total = i, len(mods)
		if cfg.FuzzyLRLayerIndex >= 0 {
			m.Index = cfg.FuzzyLRLayerIndex
		}
		if cfg.FuzzyLRTotalLayers >= 0 {
			m.Total = cfg.FuzzyLRTotalLayers
		}
	}
	return mods
}

// LayerScopes returns the scopes of the converted layers of ctx, sorted.
func (c *Converter) LayerScopes(ctx *context.Context) []string {
	var scopes []string
	for _, m := range c.Layers(ctx) {
		scopes = append(scopes, m.Scope)
	}
	sort.Strings(scopes)
	return scopes
}

// seedFor derives the seed of one draw from the configured seed, the layer and the purpose, so every draw
// is reproducible and independent of the order in which graphs are built.
func seedFor(seed int64, scope, purpose string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(scope + "#" + purpose))
	return seed ^ int64(h.Sum64()&0x7fffffffffffffff)
}

func (m *Module) stateCtx(ctx *context.Context) *context.Context {
	return ctx.InAbsPath(StateScope + m.Scope).Checked(false)
}

func (m *Module) unitsShape() shapes.Shape {
	dims := make([]int, len(m.OutputAxes))
	for i, a := range m.OutputAxes {
		dims[i] = m.Weights.Shape().Dimensions[a]
	}
	return shapes.Make(m.Weights.DType(), dims...)
}

// FactorsVar returns the per-weight plasticity factors s (fuzzy learning rates, dampened by
// crystallization): a non-trainable variable with the kernel's shape, drawn once from the configured
// distribution with the configured seed (ones when fuzzy learning rates are off).
func (m *Module) FactorsVar(ctx *context.Context) *context.Variable {
	cfg := m.conv.GetConfig()
	shape := m.Weights.Shape()
	seed := seedFor(cfg.Seed, m.Scope, "fuzzy")
	init := func(g *Graph, shape shapes.Shape) *Node {
		if !cfg.FuzzyLearningRates || cfg.FuzzyLRDistribution == WeightAdaptive {
			return Ones(g, shape) // WeightAdaptive is drawn from the weights at the first step.
		}
		nu := cfg.FuzzyLearningRateFactorNu
		if cfg.FuzzyLRDistribution == LayerAdaptive {
			nu = LayerNu(nu, m.Index, m.Total)
		}
		_, s := DrawFuzzyFactors(RNGStateFromSeedForGraph(g, seed), shape, cfg.FuzzyLRDistribution, nu,
			cfg.FuzzyLRMin, cfg.FuzzyLRMax)
		return s
	}
	return m.stateCtx(ctx).WithInitializer(init).VariableWithShape("fuzzy_factors", shape).SetTrainable(false)
}

// SignVar returns Dale's signs: one ±1 per input unit broadcast to the kernel's shape, derived from the seed
// and the layer scope exactly as Dale's initialisation (LayerWeights) derives them.
func (m *Module) SignVar(ctx *context.Context) *context.Variable {
	seed := seedFor(m.conv.GetConfig().Seed, m.Scope, "dale")
	axis := m.InputAxis
	init := func(g *Graph, shape shapes.Shape) *Node {
		_, s := DaleSigns(RNGStateFromSeedForGraph(g, seed), shape, axis)
		return s
	}
	return m.stateCtx(ctx).WithInitializer(init).VariableWithShape("dale_sign", m.Weights.Shape()).SetTrainable(false)
}

// ActivityVar returns a_j, the running mean of |y_j| per output unit (−1 until the first observation).
func (m *Module) ActivityVar(ctx *context.Context) *context.Variable {
	init := func(g *Graph, shape shapes.Shape) *Node { return MulScalar(Ones(g, shape), -1) }
	return m.stateCtx(ctx).WithInitializer(init).VariableWithShape("activity", m.unitsShape()).SetTrainable(false)
}

func (m *Module) flagVar(ctx *context.Context, name string) *context.Variable {
	return m.stateCtx(ctx).VariableWithValue(name, false).SetTrainable(false)
}

// rngVar is the layer's own RNG state for its per-step draws (volume factors, rejuvenation, re-drawn
// factors), seeded from Config.Seed and the layer's scope: the draws of a layer do not depend on the other
// layers, on the order in which layers are met (a context loaded from a checkpoint lists its variables in
// another order), nor on the model's own random numbers (dropout, initialisation).
func (m *Module) rngVar(ctx *context.Context) *context.Variable {
	seed := seedFor(m.conv.GetConfig().Seed, m.Scope, "steps")
	init := func(g *Graph, shape shapes.Shape) *Node { return RNGStateFromSeedForGraph(g, seed) }
	return m.stateCtx(ctx).WithInitializer(init).VariableWithShape("rng_state", RNGStateShape).SetTrainable(false)
}

// rngStream threads a layer's RNG state through the graph being built.
type rngStream struct {
	v     *context.Variable
	state *Node
}

func (m *Module) newRNG(ctx *context.Context, g *Graph) *rngStream {
	v := m.rngVar(ctx)
	return &rngStream{v: v, state: v.ValueGraph(g)}
}

func (r *rngStream) save() { r.v.SetValueGraph(r.state) }

// FuzzyLearningRates scales the gradient by the layer's factors: G ⊙ s (BioModule.fuzzy_learning_rates).
func (m *Module) FuzzyLearningRates(ctx *context.Context, grad *Node) *Node {
	return Mul(grad, m.FactorsVar(ctx).ValueGraph(grad.Graph()))
}

// Crystallize dampens the factors of the weights whose gradient is tiny relative to the weight or larger
// than the layer's mean weight (BioModule.crystallize): s[mask] ← δ·s[mask]. It returns the mask.
func (m *Module) Crystallize(ctx *context.Context, grad *Node) *Node {
	g := grad.Graph()
	cfg := m.conv.GetConfig()
	sv := m.FactorsVar(ctx)
	s, mask := Crystallize(sv.ValueGraph(g), m.Weights.ValueGraph(g), grad, cfg.CrystalThresh, cfg.DampeningFactor)
	sv.SetValueGraph(s)
	return mask
}

// VolumeDependentLR scales the gradient by fresh volume-dependent factors (BioModule.volume_dependent_lr).
func (m *Module) VolumeDependentLR(ctx *context.Context, grad *Node) *Node {
	r := m.newRNG(ctx, grad.Graph())
	f := m.volumeFactors(r, m.Weights.ValueGraph(grad.Graph()))
	r.save()
	return Mul(grad, f)
}

func (m *Module) volumeFactors(r *rngStream, w *Node) *Node {
	cfg := m.conv.GetConfig()
	var f *Node
	r.state, f = VolumeFactors(r.state, w, cfg.BaseLR, cfg.StabilityFactor, cfg.LRVariability)
	return f
}

// ScaleGrad adds the synaptic-scaling term to the gradient (BioModule.scale_grad):
// G − γ·(F_T − a_j)·W·|W|, with the layer's current activity a. Before any activity was observed (a < 0) the
// gradient is returned unchanged.
func (m *Module) ScaleGrad(ctx *context.Context, grad *Node) *Node {
	g := grad.Graph()
	cfg := m.conv.GetConfig()
	a := m.ActivityVar(ctx).ValueGraph(g)
	scaled := SynapticScalingTerm(grad, m.Weights.ValueGraph(g), a, m.OutputAxes, cfg.SynapticScalingGamma,
		cfg.SynapticScalingTarget)
	observed := GreaterOrEqual(ReduceAllMin(a), ZerosLike(ReduceAllMin(a)))
	return Where(observed, scaled, grad)
}

// ObserveActivity updates the running activity with the batch mean |y| per unit (shape of the output units):
// a ← momentum·a + (1 − momentum)·batch, or a ← batch at the first observation.
func (m *Module) ObserveActivity(ctx *context.Context, batch *Node) {
	g := batch.Graph()
	cfg := m.conv.GetConfig()
	av := m.ActivityVar(ctx)
	a := av.ValueGraph(g)
	batch = ConvertDType(Reshape(StopGradient(batch), m.unitsShape().Dimensions...), a.DType())
	mom := cfg.SynapticScalingMomentum
	next := Add(MulScalar(a, mom), MulScalar(batch, 1-mom))
	av.SetValueGraph(Where(LessThan(a, ZerosLike(a)), batch, next))
}

// RejuvenateWeights replaces weights below a random threshold by fresh draws (BioModule.rejuvenate_weights,
// the paper's rule, see RejuvenationDraw). It sets the weights in the graph and returns the mask of replaced
// entries; the optimizer wrapper also clears their optimizer state.
func (m *Module) RejuvenateWeights(ctx *context.Context, g *Graph) *Node {
	r := m.newRNG(ctx, g)
	w := m.Weights.ValueGraph(g)
	var newW, mask *Node
	r.state, newW, mask = RejuvenationDraw(r.state, w, m.conv.GetConfig().RejuvenationParameterDre)
	r.save()
	m.Weights.SetValueGraph(newW)
	return mask
}

// EnforceDalesPrinciple projects the weights onto their input units' signs: W ← relu(W ⊙ sign) ⊙ sign
// (BioModule.enforce_dales_principle).
func (m *Module) EnforceDalesPrinciple(ctx *context.Context, g *Graph) {
	m.Weights.SetValueGraph(DaleProject(m.Weights.ValueGraph(g), m.SignVar(ctx).ValueGraph(g)))
}

// DalianNetworkInitialization sets W ← |W| ⊙ sign (BioModule.dalian_network_initialization). Layers built by
// biolayers under a converted model with apply_dales_principle are initialised this way already; use this
// for other layers (GoMLX's own), once, before training.
func (m *Module) DalianNetworkInitialization(ctx *context.Context, g *Graph) {
	m.Weights.SetValueGraph(DaleInit(m.Weights.ValueGraph(g), m.SignVar(ctx).ValueGraph(g)))
}

// L1Reg returns Σ|W| of the layer's kernel, differentiable (BioModule.l1_reg; multiply by λ yourself, or
// enable l1_reg in the config to have Convert add λ·Σ|W| to the loss).
func (m *Module) L1Reg(g *Graph) *Node {
	return L1Sum(m.Weights.ValueGraph(g))
}
