package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/internal/backend"
	"github.com/bio-transformations/go-bio/internal/benchvariants"
)

func TestVariantIDs(t *testing.T) {
	want := []string{"plain", "fuzzy", "rejuvenation", "volume", "crystallize", "scaling", "dale", "l1", "gamma2",
		"fuzzy_rejuvenation", "reference_loop", "all", "volume_low_memory", "reference_loop_low_memory", "all_low_memory"}
	if got := benchvariants.IDs(); !slices.Equal(got, want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	for _, v := range benchvariants.All() {
		if (v.Bio == nil) != (v.ID == "plain") || v.Name == "" {
			t.Errorf("variant %q: Bio %v, name %q: only plain may lack a configuration, and all need a name",
				v.ID, v.Bio, v.Name)
		}
	}
	if _, err := benchvariants.Select([]string{"fuzzy", "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Select of an unknown id: err = %v, want one naming it", err)
	}
	vs, err := benchvariants.Select([]string{"all", "fuzzy"})
	if err != nil || len(vs) != 3 || vs[0].ID != "plain" || vs[1].ID != "fuzzy" || vs[2].ID != "all" {
		t.Errorf("Select(all, fuzzy) = %v, %v; want plain, fuzzy, all", vs, err)
	}
}

const referenceLines = `{"model": "FCNet", "variant": "plain", "step_ms": 8.0, "overhead_pct": 0.0, "torch": "1.13.0a0"}
{"model": "FCNet", "variant": "fuzzy", "step_ms": 10.0, "overhead_pct": 25.0, "torch": "1.13.0a0"}

{"model": "FCNet", "variant": "fuzzy+volume+crystallize", "step_ms": 16.0, "overhead_pct": 100.0, "torch": "1.13.0a0"}
{"model": "FCNet", "variant": "all", "step_ms": 24.0, "overhead_pct": 200.0, "torch": "1.13.0a0"}
`

func TestParseReference(t *testing.T) {
	rs, err := parseReference(strings.NewReader(referenceLines))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range rs {
		if r.Source != SourceReference || r.Torch != "1.13.0a0" {
			t.Errorf("%+v: want source reference and torch 1.13.0a0", r)
		}
		got[r.ID] = r.RatioToPlain
	}
	want := map[string]float64{"plain": 1, "fuzzy": 1.25, "fuzzy_volume_crystallize": 2, "reference_loop": 3}
	if len(got) != len(want) {
		t.Fatalf("ratios = %v, want %v", got, want)
	}
	for id, ratio := range want {
		if got[id] != ratio {
			t.Errorf("ratio of %s = %g, want %g", id, got[id], ratio)
		}
	}
	for _, c := range []struct{ input, wantErr string }{
		{`{"variant": "plain", "step_ms": 8}` + "\n" + `{"variant": "fuzzy", "step_ms": 9`, "line 2"},
		{`{"variant": "plain", "step_ms": 8}` + "\nTraceback (most recent call last):", "line 2"},
		{`{"variant": "plain", "step_ms": 8}` + "\n" + `{"variant": "bogus", "step_ms": 9}`, `line 2: unknown variant "bogus"`},
		{`{"variant": "plain", "step_ms": 0}`, "line 1"},
		{`{"variant": "plain", "step_ms": 8}` + "\n" + `{"variant": "plain", "step_ms": 8}`, "line 2"},
		{`{"variant": "fuzzy", "step_ms": 8}`, `"plain"`},
	} {
		if _, err := parseReference(strings.NewReader(c.input)); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("parseReference(%q): err = %v, want one containing %q", c.input, err, c.wantErr)
		}
	}
}

func TestRun(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	dir := t.TempDir()
	ref := filepath.Join(dir, "reference.jsonl")
	if err := os.WriteFile(ref, []byte(referenceLines), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options{steps: 2, heapSteps: 1, hidden: 8, batch: 4, variants: "fuzzy,plain",
		out: filepath.Join(dir, "bench.json"), md: filepath.Join(dir, "bench.md"), reference: ref}
	if err := run(o); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if data, err := os.ReadFile(o.out); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rep.Results {
		ids = append(ids, r.Source+":"+r.ID)
		if r.MedianMS <= 0 || r.RatioToPlain <= 0 {
			t.Errorf("%s %s: ms %g, ratio %g: want > 0", r.Source, r.ID, r.MedianMS, r.RatioToPlain)
		}
		if r.Source == SourceOurs && (r.PeakHeapMB == nil || *r.PeakHeapMB <= 0 || r.Steps != 2) {
			t.Errorf("ours %s: peak heap %v, steps %d: want > 0 and 2", r.ID, r.PeakHeapMB, r.Steps)
		}
	}
	want := []string{"ours:plain", "ours:fuzzy", "reference:plain", "reference:fuzzy",
		"reference:fuzzy_volume_crystallize", "reference:reference_loop"}
	if !slices.Equal(ids, want) {
		t.Errorf("results = %v, want %v", ids, want)
	}
	md, err := os.ReadFile(o.md)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| fuzzy | fuzzy learning rates |", "| reference_loop | reference: all |", "Warning"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
}

// TestOpsProfile runs the per-op profile on a small kernel: every op and every stage floor is reported,
// and the floors only name measured ops.
func TestOpsProfile(t *testing.T) {
	b, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ops.json")
	var out strings.Builder
	if err := runOps(b, []int{784, 8}, 2, path, &out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep OpsReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Ops) != len(opCases) {
		t.Fatalf("%d ops reported, want %d", len(rep.Ops), len(opCases))
	}
	for _, o := range rep.Ops {
		if o.MS < 0 || math.IsNaN(o.MS) {
			t.Fatalf("op %q: %g ms", o.Op, o.MS)
		}
	}
	for _, f := range stageFloors {
		if !strings.Contains(out.String(), "| "+f.id+" |") {
			t.Fatalf("no floor printed for stage %s:\n%s", f.id, out.String())
		}
	}
	for _, l := range loopFloors {
		if !strings.Contains(out.String(), "| "+l.id+" (|W| once) |") {
			t.Fatalf("no floor printed for %s:\n%s", l.id, out.String())
		}
	}
}

// TestLoopFloors checks the combined floors against sums written out by hand, from made-up op costs: each
// stage's ops, with |W| counted once per loop.
func TestLoopFloors(t *testing.T) {
	var ops []OpTiming
	for i, c := range opCases {
		ops = append(ops, OpTiming{Op: c.name, MS: float64(i + 1)})
	}
	cost := func(name string) float64 {
		for _, o := range ops {
			if o.Op == name {
				return o.MS
			}
		}
		t.Fatalf("no op %q", name)
		return 0
	}
	var out strings.Builder
	printFloors(ops, &out)
	arith, abs := cost("Add/Sub/Mul (one arithmetic pass)"), cost(absOp)
	rejuvenation := cost("ReduceMax over the leading axis, then the rest") + cost("Exp") + cost("Reciprocal") +
		15*arith + cost("RandomUniform") + cost("Div") + cost("LessThan") + cost("Where(mask, a, b), mask 10 % true")
	volume := cost("RandomUniform") + 0.5*cost("Log") + 0.5*cost("Sqrt") + cost("Exp") + abs + cost("Div") +
		19*arith + cost("Concatenate two halves")
	crystallize := 3*arith + abs + cost("ReduceSum over the leading axis, then the rest") + cost("Max(x, y)") +
		cost("LessThan") + cost("Where(mask, a, b), mask 10 % true")
	for _, want := range []string{
		fmt.Sprintf("| rejuvenation | %.2f |", rejuvenation+abs),
		fmt.Sprintf("| volume | %.2f |", volume+abs),
		fmt.Sprintf("| reference_loop (|W| once) | %.2f |", arith+rejuvenation+volume+crystallize+abs),
		fmt.Sprintf("| fuzzy_rejuvenation (|W| once) | %.2f |", arith+rejuvenation+abs),
		fmt.Sprintf("| dale | %.2f |", 2*arith+cost("Max(x, y)")),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("floors lack %q:\n%s", want, out.String())
		}
	}
}
