package bio

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
)

// The telemetry: what the mechanisms did, per layer. The factor statistics and the activity are read from
// the state variables when asked for (Telemetry), at no cost to the training step; the fractions of weights
// rejuvenated and crystallized at a step are counts over the step's masks, recorded only when asked for
// (RecordTelemetry) or computed by the training metrics (Metrics).

// LayerStats is the telemetry of one converted layer.
type LayerStats struct {
	Scope string
	// Rejuvenated and Crystallized are the fractions of the layer's weights replaced and crystallized at
	// the last training step: 0 when the mechanism is off, −1 when the converter does not record them
	// (see RecordTelemetry).
	Rejuvenated, Crystallized float64
	// FactorMean, FactorMin and FactorMax describe the plasticity factors s (1 before they exist, and when
	// fuzzy learning rates and crystallization are off).
	FactorMean, FactorMin, FactorMax float64
	// Activity is the mean running activity of the layer's units, or −1 when none was observed (synaptic
	// scaling and the Activity distribution observe it).
	Activity float64
}

// RecordTelemetry makes the training steps of what the converter makes from now on record, per layer, the
// fractions of weights rejuvenated and crystallized (LayerStats.Rejuvenated, Crystallized): a count over
// each mask, about 5 ms per million weights and mechanism on the Go backend. It returns the converter.
func (c *Converter) RecordTelemetry() *Converter {
	return c.edit(func(p *plan) { p.telemetry = true })
}

// telemetryVar holds a layer's recorded fractions: [rejuvenated, crystallized].
func (l *Layer) telemetryVar(ctx *context.Context) *context.Variable {
	return l.stateVar(ctx, "telemetry", shapes.Make(dtypes.Float32, 2), func(g *Graph, shape shapes.Shape) *Node {
		return Zeros(g, shape)
	})
}

// maskFraction is the fraction of true entries of mask, or 0 when mask is nil.
func maskFraction(g *Graph, mask *Node) *Node {
	if mask == nil {
		return ScalarZero(g, dtypes.Float32)
	}
	return meanAll(ConvertDType(mask, dtypes.Float32))
}

func recordTelemetry(ls *layerStep) {
	ls.telemetryVar(ls.ctx).SetValueGraph(Stack([]*Node{maskFraction(ls.g, ls.rejuvenated),
		maskFraction(ls.g, ls.crystallized)}, 0))
}

// Telemetry returns the statistics of every converted layer: the factor statistics and activities as they
// are now in the context's state variables (so they survive checkpoints), and the fractions recorded at the
// last training step.
func (c *Converter) Telemetry(ctx *context.Context) ([]LayerStats, error) {
	var out []LayerStats
	for _, l := range c.Layers(ctx) {
		st := LayerStats{Scope: l.Scope, Rejuvenated: -1, Crystallized: -1, FactorMean: 1,
			FactorMin: 1, FactorMax: 1, Activity: -1}
		if vals, err := stateValues(l, ctx, "telemetry"); err != nil {
			return nil, err
		} else if len(vals) == 2 {
			st.Rejuvenated, st.Crystallized = vals[0], vals[1]
		}
		if vals, err := stateValues(l, ctx, "fuzzy_factors"); err != nil {
			return nil, err
		} else if len(vals) > 0 {
			st.FactorMean, st.FactorMin, st.FactorMax = meanMinMax(vals)
		}
		if vals, err := stateValues(l, ctx, "activity"); err != nil {
			return nil, err
		} else if len(vals) > 0 {
			st.Activity, _, _ = meanMinMax(vals)
		}
		out = append(out, st)
	}
	return out, nil
}

// stateValues reads a state variable of the layer as float64s (nil if it does not exist or has no value).
func stateValues(l *Layer, ctx *context.Context, name string) ([]float64, error) {
	v := l.existingStateVar(ctx, name)
	if v == nil || !v.HasValue() {
		return nil, nil
	}
	t, err := v.Value()
	if err != nil {
		return nil, fmt.Errorf("bio: reading %s of layer %q: %w", name, l.Scope, err)
	}
	var vals []float64
	switch t.DType() {
	case dtypes.Float32:
		for _, x := range tensors.MustCopyFlatData[float32](t) {
			vals = append(vals, float64(x))
		}
	case dtypes.Float64:
		vals = tensors.MustCopyFlatData[float64](t)
	default:
		return nil, fmt.Errorf("bio: %s of layer %q has dtype %s, want a float", name, l.Scope, t.DType())
	}
	return vals, nil
}

func meanMinMax(xs []float64) (mean, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		mean += x
		lo, hi = min(lo, x), max(hi, x)
	}
	return mean / float64(len(xs)), lo, hi
}

// metricStats are the training metrics of Metrics, each a per-layer statistic of a step.
var metricStats = []struct {
	name string
	of   func(ls *layerStep) *Node
}{
	{"rejuvenated", func(ls *layerStep) *Node { return maskFraction(ls.g, ls.rejuvenated) }},
	{"crystallized", func(ls *layerStep) *Node { return maskFraction(ls.g, ls.crystallized) }},
	{"factor_mean", func(ls *layerStep) *Node { return ls.stateStat("fuzzy_factors", 1, meanAll) }},
	{"factor_min", func(ls *layerStep) *Node {
		return ls.stateStat("fuzzy_factors", 1, func(x *Node) *Node { return reduceLeading(x, ReduceMin) })
	}},
	{"factor_max", func(ls *layerStep) *Node { return ls.stateStat("fuzzy_factors", 1, maxAll) }},
	{"activity", func(ls *layerStep) *Node { return ls.stateStat("activity", -1, meanAll) }},
}

// stateStat is stat of the layer's state variable `name` in the step's graph, or none when the variable
// does not exist (metrics never create state).
func (ls *layerStep) stateStat(name string, none float64, stat func(*Node) *Node) *Node {
	v := ls.existingStateVar(ls.ctx, name)
	if v == nil {
		return Scalar(ls.g, dtypes.Float32, none)
	}
	return stat(v.ValueGraph(ls.g))
}

// Metrics returns training metrics for train.NewTrainer's trainMetrics (and so for GoMLX's progress bar
// and plots): the mean over the converted layers of each statistic at the current step — "bio_rejuvenated",
// "bio_crystallized", "bio_factor_mean", "bio_factor_min", "bio_factor_max", "bio_activity". They are
// computed in the training graph only when used (each costs a reduction per layer). A graph without the bio
// step reports 0.
func (c *Converter) Metrics() []metrics.Interface {
	var ms []metrics.Interface
	for _, stat := range metricStats {
		name := "bio_" + stat.name
		ms = append(ms, metrics.NewBaseMetric(name, name, "bio", func(ctx *context.Context, _, predictions []*Node) *Node {
			g := predictions[0].Graph()
			s := lookupStep(ctx, g)
			if s == nil || len(s.layers) == 0 {
				return ScalarZero(g, dtypes.Float32)
			}
			var sum *Node
			for _, ls := range s.layers {
				x := ConvertDType(stat.of(ls), dtypes.Float32)
				if sum == nil {
					sum = x
				} else {
					sum = Add(sum, x)
				}
			}
			return DivScalar(sum, float64(len(s.layers)))
		}, nil))
	}
	return ms
}
