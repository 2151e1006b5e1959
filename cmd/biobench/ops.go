package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The per-op profile (-ops): what one graph op costs on a [784, 1000] float32 kernel (FCNet's hidden
// layer) on the selected backend, and, per mechanism, the ops its stage cannot avoid and their sum — the
// floor a stage can reach on that backend. Every op is timed as its own small graph, with the fixed cost of
// running a graph subtracted (a graph whose output is one element of its input), medians over interleaved
// rounds. An op's cost includes writing its output: a baseline that returned the kernel itself would
// subtract a copy of it, a pass over memory as long as a cheap op's own, and understate every op.

// opCase is one timed graph: w is the kernel (N(0, 0.05²) entries), rng an RNG state.
type opCase struct {
	name string
	fn   func(w, rng *Node) *Node
}

func abs(x *Node) *Node { return Max(x, Neg(x)) }

var opCases = []opCase{
	{"fixed cost of a graph (baseline, subtracted)", func(w, _ *Node) *Node {
		return Slice(w, AxisRange(0, 1), AxisRange(0, 1))
	}},
	{"copy (the graph returns the kernel)", func(w, _ *Node) *Node { return w }},
	{"Add/Sub/Mul (one arithmetic pass)", func(w, _ *Node) *Node { return Mul(w, w) }},
	{"AddScalar/MulScalar", func(w, _ *Node) *Node { return MulScalar(w, 3) }},
	{"Div", func(w, _ *Node) *Node { return Div(w, MulScalar(w, 0.5)) }},
	{"Max(x, y)", func(w, _ *Node) *Node { return Max(w, MulScalar(w, 0.5)) }},
	{"LessThan", func(w, _ *Node) *Node { return LessThan(w, MulScalar(w, 0.5)) }},
	{"Reciprocal", func(w, _ *Node) *Node { return Reciprocal(w) }},
	{"GoMLX Abs", func(w, _ *Node) *Node { return Abs(w) }},
	{"|x| as max(x, −x)", func(w, _ *Node) *Node { return abs(w) }},
	{"GoMLX Sign", func(w, _ *Node) *Node { return Sign(w) }},
	{"Where(mask, a, b), mask half true", func(w, _ *Node) *Node { return Where(LessThan(w, MulScalar(w, 0.5)), w, Neg(w)) }},
	// The Go backend's Where branches per element, so its cost grows with the mispredictions: a mask true at
	// 10 % of the entries, as rejuvenation's at d = 8, costs far less. The floors take this cheaper one: a
	// floor must not overstate what a stage's ops cost.
	{"Where(mask, a, b), mask 10 % true", func(w, _ *Node) *Node {
		return Where(GreaterThan(w, Scalar(w.Graph(), w.DType(), 0.0641)), w, Neg(w)) // P(N(0, 0.05²) > 0.0641) = 0.10
	}},
	{"ConvertDType bool→float32", func(w, _ *Node) *Node {
		return ConvertDType(LessThan(w, MulScalar(w, 0.5)), dtypes.Float32)
	}},
	{"ReduceAllMax", func(w, _ *Node) *Node { return ReduceAllMax(w) }},
	{"ReduceMax over the leading axis, then the rest", func(w, _ *Node) *Node { return ReduceMax(ReduceMax(w, 0), 0) }},
	{"ReduceAllSum", func(w, _ *Node) *Node { return ReduceAllSum(w) }},
	{"ReduceSum over the leading axis, then the rest", func(w, _ *Node) *Node { return ReduceSum(ReduceSum(w, 0), 0) }},
	{"Exp", func(w, _ *Node) *Node { return Exp(w) }},
	{"Log", func(w, _ *Node) *Node { return Log(abs(w)) }},
	{"Sqrt", func(w, _ *Node) *Node { return Sqrt(abs(w)) }},
	{"Cos", func(w, _ *Node) *Node { return Cos(MulScalar(w, 40)) }},
	{"Sin", func(w, _ *Node) *Node { return Sin(MulScalar(w, 40)) }},
	{"Erf on rejuvenation's range (|W|·d/(m√2), d = 8)", func(w, _ *Node) *Node {
		return Erf(MulScalar(abs(w), 8/(math.Sqrt2*0.25)))
	}},
	{"RandomUniform", func(w, rng *Node) *Node { _, u := RandomUniform(rng, w.Shape()); return u }},
	{"RandomNormal (GoMLX: two uniforms, one kept)", func(w, rng *Node) *Node { _, z := RandomNormal(rng, w.Shape()); return z }},
	{"BroadcastInDim of a row to the kernel", func(w, _ *Node) *Node {
		return BroadcastToDims(Slice(w, AxisRange(0, 1)), w.Shape().Dimensions...)
	}},
	{"Concatenate two halves", func(w, _ *Node) *Node {
		h := w.Shape().Dimensions[0] / 2
		return Concatenate([]*Node{Slice(w, AxisRange(0, h)), Slice(w, AxisRange(h))}, 0)
	}},
}

// absOp is |x| as the stages compute it; |W| is shared by the stages of a step (counted once in a loop).
const absOp = "|x| as max(x, −x)"

// stageFloor is one mechanism's floor: the ops its per-step work cannot avoid on a kernel (with counts), by
// the names of opCases — the draws it needs, the transcendental functions of its formula, and one pass per
// arithmetic step that no other op can fold — and whether it reads |W|, computed once per step.
type stageFloor struct {
	id   string
	absW bool
	ops  map[string]float64
}

// stageFloors are the floors of the mechanisms with per-step work on the kernel (weight splitting's is in the
// forward pass, not on the kernel).
var stageFloors = []stageFloor{
	{"fuzzy", false, map[string]float64{"Add/Sub/Mul (one arithmetic pass)": 1}}, // G ⊙ s
	{"rejuvenation", true, map[string]float64{ // max|W|, erfc (1 exp, 1 reciprocal, ~12 passes), u, u < p, the fresh value, the select
		"ReduceMax over the leading axis, then the rest": 1, "Exp": 1, "Reciprocal": 1,
		"Add/Sub/Mul (one arithmetic pass)": 15, "RandomUniform": 1, "Div": 1, "LessThan": 1, "Where(mask, a, b), mask 10 % true": 1}},
	{"volume", true, map[string]float64{ // one uniform per number; per pair ln, √ and cos/sin (30 passes at float32 precision); μ = exp(…); |1 + σz|
		"RandomUniform": 1, "Log": 0.5, "Sqrt": 0.5, "Exp": 1, absOp: 1, "Div": 1,
		"Add/Sub/Mul (one arithmetic pass)": 4 + 15, "Concatenate two halves": 1}},
	{"crystallize", true, map[string]float64{ // G ⊙ s, |G|, mean|W|, two differences, their max, the mask, the select
		"Add/Sub/Mul (one arithmetic pass)": 3, absOp: 1, "ReduceSum over the leading axis, then the rest": 1,
		"Max(x, y)": 1, "LessThan": 1, "Where(mask, a, b), mask 10 % true": 1}},
	{"scaling", true, map[string]float64{ // W ⊙ |W|, the deficit broadcast to the kernel, ⊙ it, ·γ, G −
		"Add/Sub/Mul (one arithmetic pass)": 3, "AddScalar/MulScalar": 1, "BroadcastInDim of a row to the kernel": 1}},
	{"dale", false, map[string]float64{"Add/Sub/Mul (one arithmetic pass)": 2, "Max(x, y)": 1}}, // relu(W ⊙ sign) ⊙ sign
	{"l1", false, map[string]float64{ // Σ|W| (in the loss); λ·sign(W) = λ·clamp(W·2¹²⁶, −1, 1), added to G
		absOp: 1, "ReduceSum over the leading axis, then the rest": 1, "Add/Sub/Mul (one arithmetic pass)": 2,
		"Max(x, y)": 2, "AddScalar/MulScalar": 1}},
}

// loopFloors are the benchmark's combined variants, by the stages they run.
var loopFloors = []struct {
	id     string
	stages []string
}{
	{"fuzzy_rejuvenation", []string{"fuzzy", "rejuvenation"}},
	{"reference_loop", []string{"fuzzy", "rejuvenation", "volume", "crystallize"}},
	{"all", []string{"fuzzy", "rejuvenation", "volume", "crystallize", "scaling", "dale", "l1"}},
}

// printFloors writes the floor of every stage and of every combined variant (|W| counted once) from the
// measured ops.
func printFloors(ops []OpTiming, stdout io.Writer) {
	cost := map[string]float64{}
	for _, o := range ops {
		cost[o.Op] = o.MS
	}
	own := map[string]float64{} // each stage's ops without |W|
	byID := map[string]stageFloor{}
	fmt.Fprintln(stdout, "\n| stage | floor ms (the ops it cannot avoid) |\n|---|---:|")
	for _, f := range stageFloors {
		for op, n := range f.ops {
			c, ok := cost[op]
			if !ok {
				panic("biobench: stage floor names an unknown op " + op)
			}
			own[f.id] += n * c
		}
		byID[f.id] = f
		floor := own[f.id]
		if f.absW {
			floor += cost[absOp]
		}
		fmt.Fprintf(stdout, "| %s | %.2f |\n", f.id, floor)
	}
	for _, l := range loopFloors {
		sum, absW := 0.0, false
		for _, id := range l.stages {
			sum, absW = sum+own[id], absW || byID[id].absW
		}
		if absW {
			sum += cost[absOp]
		}
		fmt.Fprintf(stdout, "| %s (|W| once) | %.2f |\n", l.id, sum)
	}
}

// OpTiming is one op's measured cost.
type OpTiming struct {
	Op string  `json:"op"`
	MS float64 `json:"ms"`
}

// OpsReport is what -ops writes.
type OpsReport struct {
	Backend string     `json:"backend"`
	Shape   []int      `json:"shape"`
	Rounds  int        `json:"rounds"`
	Ops     []OpTiming `json:"ops"`
}

// runOps times every op case on a kernel of the given shape and writes the report as JSON to path.
func runOps(backend backends.Backend, dims []int, rounds int, path string, stdout io.Writer) error {
	shape := shapes.Make(dtypes.Float32, dims...)
	w, err := ExecOnce(backend, func(g *Graph) *Node {
		_, z := RandomNormal(RNGStateFromSeedForGraph(g, 1), shape)
		return MulScalar(z, 0.05)
	})
	if err != nil {
		return err
	}
	rng, err := RNGStateFromSeed(3)
	if err != nil {
		return err
	}
	execs := make([]*Exec, len(opCases))
	for i, c := range opCases {
		fn := func(w, rng *Node) []*Node { return []*Node{c.fn(w, rng), rng} } // every input used
		if execs[i], err = NewExec(backend, fn); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		defer execs[i].Finalize()
	}
	times := make([][]float64, len(opCases))
	for r := range rounds + 1 {
		for i, e := range execs {
			start := time.Now()
			out, err := e.Exec(w, rng)
			if err != nil {
				return fmt.Errorf("%s: %w", opCases[i].name, err)
			}
			for _, o := range out {
				o.FinalizeAll()
			}
			if r > 0 { // the first round compiles
				times[i] = append(times[i], float64(time.Since(start).Microseconds())/1000)
			}
		}
	}
	rep := OpsReport{Backend: backend.Name(), Shape: dims, Rounds: rounds}
	base := median(times[0])
	for i, c := range opCases {
		ms := median(times[i])
		if i > 0 {
			ms = max(ms-base, 0)
		}
		rep.Ops = append(rep.Ops, OpTiming{Op: c.name, MS: math.Round(ms*100) / 100})
		fmt.Fprintf(stdout, "| %s | %.2f |\n", c.name, ms)
	}
	printFloors(rep.Ops, stdout)
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
