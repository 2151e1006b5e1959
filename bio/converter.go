package bio

import (
	"fmt"
	"path"
	"strings"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/pkg/errors"
)

// Converter is the Go counterpart of the reference's BioConverter: it holds a validated Config and turns an
// existing GoMLX model function and optimizer into bio-inspired ones, without changes to the model's code.
//
//	conv, err := bio.NewConverter(cfg)
//	model := conv.Convert(myModelFn)                   // train.ModelFn in, train.ModelFn out
//	opt := conv.Optimizer(optimizers.Adam().Done())    // wraps any GoMLX optimizer
//
// The synapses it acts on are discovered in the context: every variable named "weights" whose scope ends in
// "/dense" or "/conv" — the names GoMLX's layers.Dense and layers.Convolution (and this project's biolayers)
// give their kernels. Use Include and Exclude to restrict the set. A Converter is safe for concurrent use.
type Converter struct {
	mu        sync.Mutex
	cfg       Config
	include   []string
	exclude   []string
	skipSplit []string
	chFirst   []string
}

// NewConverter validates cfg and returns a Converter for it. An invalid configuration returns an error
// naming the field, its value and the allowed range.
func NewConverter(cfg Config) (*Converter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Converter{cfg: cfg}, nil
}

// FromDict creates a Converter from a map of the reference's snake_case parameter names (BioConverter.from_dict).
// Keys not given keep their defaults; unknown keys and invalid values are errors.
func FromDict(m map[string]any) (*Converter, error) {
	cfg, err := ConfigFromMap(m)
	if err != nil {
		return nil, err
	}
	return NewConverter(cfg)
}

// GetConfig returns a copy of the current configuration (BioConverter.get_config).
func (c *Converter) GetConfig() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// UpdateConfig changes the named parameters (reference names) and validates the result
// (BioConverter.update_config). On error the configuration is unchanged. Graphs already built keep the
// configuration they were built with; GoMLX rebuilds graphs only for new shapes, so call it before training.
func (c *Converter) UpdateConfig(m map[string]any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, err := c.cfg.Update(m)
	if err != nil {
		return err
	}
	c.cfg = cfg
	return nil
}

// Include restricts the converter to the layers whose scope matches one of the patterns (see Matches).
// It returns the converter, for chaining.
func (c *Converter) Include(patterns ...string) *Converter {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.include = append(c.include, patterns...)
	return c
}

// Exclude leaves the layers whose scope matches one of the patterns unconverted (see Matches).
func (c *Converter) Exclude(patterns ...string) *Converter {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exclude = append(c.exclude, patterns...)
	return c
}

// SkipWeightSplitting marks layers (scope patterns, see Matches) whose output is never split, in addition to
// the classifier, which is always skipped.
func (c *Converter) SkipWeightSplitting(patterns ...string) *Converter {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipSplit = append(c.skipSplit, patterns...)
	return c
}

// ChannelsFirst marks convolution layers (scope patterns, see Matches) whose kernels are laid out
// [out, in, k...], as GoMLX's layers.Convolution makes them with ChannelsAxis(images.ChannelsFirst). By
// default every "/conv" kernel is taken as channels-last [k..., in, out], GoMLX's default layout; the kernel
// shape alone cannot tell the two apart.
func (c *Converter) ChannelsFirst(patterns ...string) *Converter {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chFirst = append(c.chFirst, patterns...)
	return c
}

func (c *Converter) channelsFirst(scope string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return matchesAny(scope, c.chFirst)
}

// Matches reports whether a layer scope (such as "/model/fc1/dense") matches a pattern: the pattern equals
// the scope, is a leading part of it ("/model/fc1" matches "/model/fc1/dense"), is a path.Match glob of it or of a leading
// part ("/model/*/dense", "/c*"), or, when it does not start with "/", names one of its path elements ("fc1").
func Matches(scope, pattern string) bool {
	if pattern == "" {
		return false
	}
	if scope == pattern || strings.HasPrefix(scope, strings.TrimSuffix(pattern, "/")+"/") {
		return true
	}
	// A glob matches the scope or any of its leading parts ("/c*" matches "/c1/conv").
	for prefix := scope; prefix != ""; prefix = prefix[:strings.LastIndex(prefix, "/")] {
		if ok, _ := path.Match(pattern, prefix); ok {
			return true
		}
	}
	if !strings.HasPrefix(pattern, "/") {
		for _, elem := range strings.Split(scope, "/") {
			if elem == pattern {
				return true
			}
		}
	}
	return false
}

func matchesAny(scope string, patterns []string) bool {
	for _, p := range patterns {
		if Matches(scope, p) {
			return true
		}
	}
	return false
}

// selected tells whether a layer scope is converted under the include/exclude lists.
func (c *Converter) selected(scope string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.include) > 0 && !matchesAny(scope, c.include) {
		return false
	}
	return !matchesAny(scope, c.exclude)
}

func (c *Converter) skipsSplitting(scope string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return matchesAny(scope, c.skipSplit)
}

// graphStateKey is the graph parameter (at the root scope) that marks a graph as built by a converted model.
const graphStateKey = "bio_converter_state"

// graphState is what a converted model function leaves in its graph for the layer hooks and the optimizer.
type graphState struct {
	conv       *Converter
	cfg        Config
	tracing    bool
	classifier string           // scope of the last layer reporting an output, skipped by weight splitting
	order      []string         // scopes of layer outputs in the order they were built
	activity   map[string]*Node // batch mean |y| per output unit, by layer scope
}

func lookupState(ctx *context.Context, g *Graph) *graphState {
	v, found := ctx.GetGraphParam(g, graphStateKey)
	if !found {
		return nil
	}
	st, _ := v.(*graphState)
	return st
}

// Convert wraps a model function: the returned function builds the same model, with weight splitting and
// Dale's initialisation in the layers that support them (package biolayers), the layer activities that
// synaptic scaling needs, and the L1 term added to the training loss (train.AddLoss) when enabled.
// Mechanisms acting on weights and gradients run in the optimizer returned by Optimizer.
//
// With weight splitting on, the first call traces the model once in a throwaway graph to find the last
// layer (the classifier), which is never split.
func (c *Converter) Convert(fn train.ModelFn) train.ModelFn {
	var mu sync.Mutex
	classifier, traced := "", false
	return func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		cfg := c.GetConfig()
		st := &graphState{conv: c, cfg: cfg, activity: map[string]*Node{}}
		if cfg.WeightSplittingGamma > 1 {
			mu.Lock()
			if !traced {
				order := c.trace(ctx, spec, inputs, fn)
				if len(order) > 0 {
					classifier = order[len(order)-1]
				}
				traced = true
			}
			st.classifier = classifier
			mu.Unlock()
		}
		ctx.InAbsPath(context.RootScope).SetGraphParam(g, graphStateKey, st)
		outputs := fn(ctx, spec, inputs)
		if cfg.L1Regularization && cfg.L1Lambda > 0 && ctx.IsTraining(g) {
			var ws []*Node
			for _, l := range c.Layers(ctx) {
				if l.Weights.InUseByGraph(g) {
					ws = append(ws, l.Weights.ValueGraph(g))
				}
			}
			if len(ws) > 0 {
				train.AddLoss(ctx, MulScalar(L1Sum(ws...), cfg.L1Lambda))
			}
		}
		return outputs
	}
}

// trace builds fn once in a throwaway graph and returns the scopes of the layers that reported their
// outputs (LayerOutput), in order. Variables the trace creates are deleted again, so the real build sees
// the context exactly as before.
func (c *Converter) trace(ctx *context.Context, spec any, inputs []*Node, fn train.ModelFn) (order []string) {
	g := inputs[0].Graph()
	existing := map[string]bool{}
	for v := range ctx.IterVariables() {
		existing[v.ScopeAndName()] = true
	}
	tg := NewGraph(g.Backend(), "bio_trace")
	defer tg.Finalize()
	params := make([]*Node, len(inputs))
	for i, in := range inputs {
		params[i] = Parameter(tg, fmt.Sprintf("bio_trace_input_%d", i), in.Shape())
	}
	st := &graphState{conv: c, cfg: c.GetConfig(), tracing: true, activity: map[string]*Node{}}
	tctx := ctx.Checked(false)
	tctx.InAbsPath(context.RootScope).SetGraphParam(tg, graphStateKey, st)
	tctx.SetTraining(tg, ctx.IsTraining(g))
	func() {
		defer func() { _ = recover() }() // a model that fails to build fails again, with its own message, in the real build
		fn(tctx, spec, params)
	}()
	var created []*context.Variable
	for v := range ctx.IterVariables() {
		// Variables the trace brought in from a checkpoint loader have a value: those stay.
		if !existing[v.ScopeAndName()] && !v.HasValue() {
			created = append(created, v)
		}
	}
	for _, v := range created {
		_ = ctx.DeleteVariable(v.Scope(), v.Name())
	}
	return st.order
}

// panicf raises a graph-building error the GoMLX way: context.Exec and train.Trainer return it as an error.
func panicf(format string, args ...any) {
	panic(errors.Errorf(format, args...))
}

// ConverterFromContext creates a Converter from the configuration in ctx's parameters ("bio_" + reference
// name, see Config.SetToContext and ConfigFromContext), so that GoMLX's command-line `-set` settings apply.
func ConverterFromContext(ctx *context.Context) (*Converter, error) {
	cfg, err := ConfigFromContext(ctx)
	if err != nil {
		return nil, err
	}
	return NewConverter(cfg)
}
