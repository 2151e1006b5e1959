package bio

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
)

// The telemetry of one layer, as recorded by the bio optimizer at its last step, in this order in the
// layer's "telemetry" state variable.
const (
	statRejuvenated  = iota // fraction of weights replaced at the last step
	statCrystallized        // fraction of weights crystallized at the last step
	statFactorMean          // mean of the plasticity factors s
	statFactorMin           // min of s
	statFactorMax           // max of s
	statActivity            // mean activity of the layer's units (−1 before the first observation)
	numStats
)

var statNames = [numStats]string{"rejuvenated", "crystallized", "factor_mean", "factor_min", "factor_max", "activity"}

// LayerStats is the telemetry of one converted layer after the last training step.
type LayerStats struct {
	Scope string
	// Rejuvenated and Crystallized are the fractions of the layer's weights replaced and crystallized at
	// the last step (0 when the mechanism is off).
	Rejuvenated, Crystallized float64
	// FactorMean, FactorMin and FactorMax describe the plasticity factors s (1 when fuzzy learning rates
	// and crystallization are off).
	FactorMean, FactorMin, FactorMax float64
	// Activity is the mean running activity of the layer's units, or −1 when none was observed (synaptic
	// scaling and the Activity distribution observe it, in layers built with biolayers).
	Activity float64
}

func (m *Module) telemetryVar(ctx *context.Context) *context.Variable {
	return m.stateCtx(ctx).WithInitializer(func(g *Graph, shape shapes.Shape) *Node {
		return Zeros(g, shape)
	}).VariableWithShape("telemetry", shapes.Make(dtypes.Float32, numStats)).SetTrainable(false)
}

// telemetryKey is the graph parameter holding the per-statistic layer means for Metrics.
const telemetryKey = "bio_telemetry"

func (c *Converter) recordTelemetry(ctx *context.Context, g *Graph, m *Module, cfg Config, rejuvenated, crystallized *Node) {
	frac := func(mask *Node) *Node {
		if mask == nil {
			return ScalarZero(g, dtypes.Float32)
		}
		return ReduceAllMean(ConvertDType(mask, dtypes.Float32))
	}
	f32 := func(x *Node) *Node { return ConvertDType(x, dtypes.Float32) }
	var s *Node
	if cfg.FuzzyLearningRates || cfg.Crystallization {
		s = m.FactorsVar(ctx).ValueGraph(g)
	} else {
		s = Ones(g, m.Weights.Shape())
	}
	activity := Scalar(g, dtypes.Float32, -1)
	if av := m.stateCtx(ctx).GetVariableByScopeAndName(StateScope+m.Scope, "activity"); av != nil && av.InUseByGraph(g) {
		activity = f32(ReduceAllMean(av.ValueGraph(g)))
	}
	stats := Stack([]*Node{frac(rejuvenated), frac(crystallized), f32(ReduceAllMean(s)), f32(ReduceAllMin(s)),
		f32(ReduceAllMax(s)), activity}, 0)
	m.telemetryVar(ctx).SetValueGraph(stats)
	root := ctx.InAbsPath(context.RootScope)
	var all []*Node
	if prev, found := root.GetGraphParam(g, telemetryKey); found {
		all = prev.([]*Node)
	}
	root.SetGraphParam(g, telemetryKey, append(all, stats))
}

// Telemetry returns the statistics each converted layer recorded at the last training step, read from the
// context's state variables (so they survive checkpoints). Layers not yet trained are left out.
func (c *Converter) Telemetry(ctx *context.Context) ([]LayerStats, error) {
	var out []LayerStats
	for _, m := range c.Layers(ctx) {
		v := ctx.GetVariableByScopeAndName(StateScope+m.Scope, "telemetry")
		if v == nil || !v.HasValue() {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("bio: reading the telemetry of layer %q: %w", m.Scope, err)
		}
		vals := tensors.MustCopyFlatData[float32](t)
		if len(vals) != numStats {
			return nil, fmt.Errorf("bio: telemetry of layer %q has %d values, want %d", m.Scope, len(vals), numStats)
		}
		out = append(out, LayerStats{Scope: m.Scope, Rejuvenated: float64(vals[statRejuvenated]),
			Crystallized: float64(vals[statCrystallized]), FactorMean: float64(vals[statFactorMean]),
			FactorMin: float64(vals[statFactorMin]), FactorMax: float64(vals[statFactorMax]),
			Activity: float64(vals[statActivity])})
	}
	return out, nil
}

// Metrics returns training metrics for train.NewTrainer's trainMetrics (and so for GoMLX's progress bar
// and plots): the mean over the converted layers of each telemetry statistic at the current step —
// "bio_rejuvenated", "bio_crystallized", "bio_factor_mean", "bio_factor_min", "bio_factor_max",
// "bio_activity". A graph without the bio optimizer reports 0.
func (c *Converter) Metrics() []metrics.Interface {
	ms := make([]metrics.Interface, numStats)
	for i := range numStats {
		stat := i
		name := "bio_" + statNames[stat]
		ms[i] = metrics.NewBaseMetric(name, name, "bio", func(ctx *context.Context, _, predictions []*Node) *Node {
			g := predictions[0].Graph()
			v, found := ctx.InAbsPath(context.RootScope).GetGraphParam(g, telemetryKey)
			if !found || len(v.([]*Node)) == 0 {
				return ScalarZero(g, dtypes.Float32)
			}
			layers := v.([]*Node)
			var sum *Node
			for _, st := range layers {
				x := Squeeze(Slice(st, AxisElem(stat)))
				if sum == nil {
					sum = x
				} else {
					sum = Add(sum, x)
				}
			}
			return DivScalar(sum, float64(len(layers)))
		}, nil)
	}
	return ms
}
