package bio

import (
	"path"
	"slices"
	"sort"
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
// give their kernels. Use Include and Exclude to restrict the set.
//
// What a Converter hands out — the model function of Convert, the optimizer of Optimizer, the Layer
// handles, the metrics — keeps the configuration and layer selection the converter had when it was made:
// UpdateConfig, Include, Exclude, SkipWeightSplitting and ChannelsFirst affect only what is made afterwards.
// A Converter is safe for concurrent use.
type Converter struct {
	mu   sync.Mutex
	plan plan
}

// plan is an immutable snapshot of a converter: what every handle it gives out works with.
type plan struct {
	cfg                         Config
	include, exclude, skipSplit []string
	channelsFirst               []string
	// telemetry records, at every step, the fractions of weights rejuvenated and crystallized.
	telemetry bool
	// lowMemory runs a layer's stages one after another (Converter.LowMemory).
	lowMemory bool
}

// NewConverter validates cfg and returns a Converter for it. An invalid configuration returns an error
// naming the field, its value and the allowed range.
func NewConverter(cfg Config) (*Converter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Converter{plan: plan{cfg: cfg}}, nil
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

// ConverterFromContext creates a Converter from the configuration in ctx's parameters ("bio_" + reference
// name, see Config.SetToContext and ConfigFromContext), so that GoMLX's command-line `-set` settings apply.
func ConverterFromContext(ctx *context.Context) (*Converter, error) {
	cfg, err := ConfigFromContext(ctx)
	if err != nil {
		return nil, err
	}
	return NewConverter(cfg)
}

// snapshot returns the converter's current plan; handles keep it.
func (c *Converter) snapshot() *plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.plan
	return &p
}

// edit changes the converter's plan under its lock; the slices are copied so snapshots never alias.
func (c *Converter) edit(fn func(p *plan)) *Converter {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.plan
	p.include, p.exclude = slices.Clone(p.include), slices.Clone(p.exclude)
	p.skipSplit, p.channelsFirst = slices.Clone(p.skipSplit), slices.Clone(p.channelsFirst)
	fn(&p)
	c.plan = p
	return c
}

// Config returns the current configuration (the reference's get_config).
func (c *Converter) Config() Config { return c.snapshot().cfg }

// GetConfig returns the current configuration.
//
// Deprecated: use Config.
func (c *Converter) GetConfig() Config { return c.Config() }

// UpdateConfig changes the named parameters (reference names) and validates the result
// (BioConverter.update_config). On error the configuration is unchanged. Model functions, optimizers and
// layer handles made before keep the configuration they were made with.
func (c *Converter) UpdateConfig(m map[string]any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, err := c.plan.cfg.Update(m)
	if err != nil {
		return err
	}
	c.plan.cfg = cfg
	return nil
}

// Include restricts the converter to the layers whose scope matches one of the patterns (see Matches).
// It returns the converter, for chaining.
func (c *Converter) Include(patterns ...string) *Converter {
	return c.edit(func(p *plan) { p.include = append(p.include, patterns...) })
}

// Exclude leaves the layers whose scope matches one of the patterns unconverted (see Matches).
func (c *Converter) Exclude(patterns ...string) *Converter {
	return c.edit(func(p *plan) { p.exclude = append(p.exclude, patterns...) })
}

// SkipWeightSplitting marks layers (scope patterns, see Matches) whose output is never split, in addition to
// the classifier (see LayerOutput).
func (c *Converter) SkipWeightSplitting(patterns ...string) *Converter {
	return c.edit(func(p *plan) { p.skipSplit = append(p.skipSplit, patterns...) })
}

// ChannelsFirst marks convolution layers (scope patterns, see Matches) whose kernels are laid out
// [out, in, k...], as GoMLX's layers.Convolution makes them with ChannelsAxis(images.ChannelsFirst). By
// default every "/conv" kernel is taken as channels-last [k..., in, out], GoMLX's default layout; the kernel
// shape alone cannot tell the two apart.
func (c *Converter) ChannelsFirst(patterns ...string) *Converter {
	return c.edit(func(p *plan) { p.channelsFirst = append(p.channelsFirst, patterns...) })
}

// Layers discovers the converted layers of ctx: every trainable "weights" variable in a scope ending in
// "/dense" or "/conv", selected by Include/Exclude, in the order the variables were created (for a model
// built from scratch, the order of the layers). Frozen (non-trainable) kernels are left out.
func (c *Converter) Layers(ctx *context.Context) []*Layer { return c.snapshot().discoverLayers(ctx) }

// LayerScopes returns the scopes of the converted layers of ctx, sorted.
func (c *Converter) LayerScopes(ctx *context.Context) []string {
	var scopes []string
	for _, l := range c.Layers(ctx) {
		scopes = append(scopes, l.Scope)
	}
	sort.Strings(scopes)
	return scopes
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
func (p *plan) selected(scope string) bool {
	if len(p.include) > 0 && !matchesAny(scope, p.include) {
		return false
	}
	return !matchesAny(scope, p.exclude)
}

// Convert wraps a model function: the returned function builds the same model and, in training graphs,
// the bio step around it (see Optimizer): the layers of package biolayers (and any layer calling
// LayerWeights and LayerOutput) get Dale's initialisation, weight splitting and activity observation; the
// L1 term's value is added to the loss (train.AddLoss; the optimizer wrapper adds its gradient); and the
// mechanisms that act after the optimizer's update (rejuvenation, Dale's projection, dynamic factors,
// factor_mode "update") are registered with train.AddPerStepUpdateGraphFn, so they run with any optimizer.
func (c *Converter) Convert(fn train.ModelFn) train.ModelFn {
	p := c.snapshot()
	return func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		s := p.beginStep(ctx, g)
		first := len(s.reports) // the model function may be called more than once in a graph
		outputs := fn(ctx, spec, inputs)
		outputs = s.finishModel(outputs, s.reports[first:])
		if s.training {
			s.prepare(ctx) // the weights as they are before the optimizer's update
			if l1 := p.l1Loss(ctx, g); l1 != nil && !s.l1Added {
				train.AddLoss(ctx, l1) // once per graph, however often the model is called
				s.l1Added = true
			}
		}
		return outputs
	}
}

// equal tells whether two plans configure and select layers alike.
func (p *plan) equal(o *plan) bool {
	return p.cfg == o.cfg && p.telemetry == o.telemetry && p.lowMemory == o.lowMemory && slices.Equal(p.include, o.include) &&
		slices.Equal(p.exclude, o.exclude) && slices.Equal(p.skipSplit, o.skipSplit) &&
		slices.Equal(p.channelsFirst, o.channelsFirst)
}

// panicf raises a graph-building error the GoMLX way: context.Exec and train.Trainer return it as an error.
func panicf(format string, args ...any) {
	panic(errors.Errorf(format, args...))
}
