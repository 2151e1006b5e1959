package bio

// Dale's principle (apply_dales_principle): a neuron is excitatory or inhibitory, so all of its outgoing
// weights share one sign. Each input (presynaptic) unit of a layer draws one sign ±1, once (seeded by the
// configured seed and the layer's scope); at initialisation W ← |W| ⊙ sign (LayerWeights does this for the
// layers of package biolayers; DalianNetworkInitialization for others), and after every update
// W ← relu(W ⊙ sign) ⊙ sign. The reference drew the sign per output unit (per (out, in) pair for Conv2d),
// which constrains incoming weights instead.

import (
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var daleStage = stage{
	key: "apply_dales_principle",
	on:  func(c Config) bool { return c.ApplyDalesPrinciple },
	after: func(ls *layerStep) {
		ls.EnforceDalesPrinciple(ls.ctx, ls.g)
	},
}

// signsVar returns Dale's signs: one ±1 per input unit broadcast to the kernel's shape, derived from the
// seed and the layer scope exactly as Dale's initialisation (LayerWeights) derives them.
func (l *Layer) signsVar(ctx *context.Context) *context.Variable {
	seed, axis := seedFor(l.cfg.Seed, l.Scope, "dale"), l.InputAxis
	return l.stateVar(ctx, "dale_sign", l.Weights.Shape(), func(g *Graph, shape shapes.Shape) *Node {
		_, s := daleSigns(RNGStateFromSeedForGraph(g, seed), shape, axis)
		return s
	})
}

// EnforceDalesPrinciple projects the weights onto their input units' signs: W ← relu(W ⊙ sign) ⊙ sign
// (BioModule.enforce_dales_principle).
func (l *Layer) EnforceDalesPrinciple(ctx *context.Context, g *Graph) {
	l.Weights.SetValueGraph(daleProject(l.Weights.ValueGraph(g), l.signsVar(ctx).ValueGraph(g)))
}

// DalianNetworkInitialization sets W ← |W| ⊙ sign (BioModule.dalian_network_initialization). Layers built by
// biolayers under a converted model with apply_dales_principle are initialised this way already; use this
// for other layers (GoMLX's own), once, before training.
func (l *Layer) DalianNetworkInitialization(ctx *context.Context, g *Graph) {
	l.Weights.SetValueGraph(daleInit(l.Weights.ValueGraph(g), l.signsVar(ctx).ValueGraph(g)))
}

// EnforceDalesPrinciple projects every converted layer's weights onto its input units' signs now.
func (c *Converter) EnforceDalesPrinciple(backend backends.Backend, ctx *context.Context) error {
	return c.snapshot().runWeightStage(backend, ctx, daleStage)
}

// DalianNetworkInitialization sets every converted layer's weights to |W| ⊙ sign now (once, before training,
// for layers that were not built by biolayers under a converted model).
func (c *Converter) DalianNetworkInitialization(backend backends.Backend, ctx *context.Context) error {
	return c.snapshot().runWeightStage(backend, ctx, stage{key: "dalian_network_initialization",
		on: daleStage.on, after: func(ls *layerStep) { ls.DalianNetworkInitialization(ls.ctx, ls.g) }})
}

// daleProject keeps every weight on the side of its input unit's sign: W ← relu(W ⊙ sign) ⊙ sign. sign has
// the kernel's shape (already broadcast).
func daleProject(w, sign *Node) *Node {
	ws := Mul(w, sign)
	return Mul(Max(ws, ScalarZero(ws.Graph(), ws.DType())), sign)
}

// daleInit turns initial weights into Dale-compliant ones: W ← |W| ⊙ sign.
func daleInit(w, sign *Node) *Node {
	return Mul(absolute(w), sign)
}

// daleSigns draws one ±1 per input unit (inputAxis of shape) and broadcasts it to the kernel's shape.
func daleSigns(rng *Node, shape shapes.Shape, inputAxis int) (*Node, *Node) {
	unitShape := shapes.Make(shape.DType, shape.Dimensions[inputAxis])
	rng, u := RandomUniform(rng, unitShape)
	g := u.Graph()
	sign := Where(LessThan(u, Scalar(g, u.DType(), 0.5)), Scalar(g, u.DType(), -1), Scalar(g, u.DType(), 1))
	return rng, broadcastUnits(sign, shape, []int{inputAxis})
}
