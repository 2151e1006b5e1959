package experiments

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeResult builds a comparison with hand-chosen curves: baseline finals 0.90 and 0.92, "fuzzy" finals 0.95
// and 0.97 (reaching 95 % at step 200 and 100), one failed "dale" run.
func fakeResult() *CompareResult {
	curve := func(accs ...float64) []EvalPoint {
		var c []EvalPoint
		for i, a := range accs {
			c = append(c, EvalPoint{Step: 100 * (i + 1), Epoch: float64(i + 1), ValAccuracy: a, ValLoss: 1 - a})
		}
		return c
	}
	run := func(v string, seed int64, accs ...float64) *RunResult {
		c := curve(accs...)
		return &RunResult{Config: RunConfig{Variant: v, Model: "fcnet", Width: 10, Seed: seed, Epochs: len(accs), LR: 0.05,
			BatchSize: 100}, Curve: c, FinalAccuracy: accs[len(accs)-1], FinalLoss: 1 - accs[len(accs)-1], MedianStepMs: 2}
	}
	base := PaperBioConfig()
	return &CompareResult{
		Config: CompareConfig{Model: "fcnet", Width: 10, Seeds: 2, Epochs: 2, LR: 0.05, BatchSize: 100, Base: base},
		Variants: []Variant{{Name: BaselineName, Group: GroupFactorial}, {Name: "fuzzy", Group: GroupFactorial, Bio: &base},
			{Name: "dale", Group: GroupOneAtATime, Bio: &base}},
		Runs: []*RunResult{run(BaselineName, 0, 0.80, 0.90), run(BaselineName, 1, 0.84, 0.92),
			run("fuzzy", 0, 0.91, 0.95), run("fuzzy", 1, 0.96, 0.97), run("dale", 0, 0.5, 0.6),
			{Config: RunConfig{Variant: "dale", Seed: 1}, Error: "boom"}},
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(fakeResult())
	if len(s) != 3 || s[0].Variant != BaselineName {
		t.Fatalf("summaries: %+v", s)
	}
	b, f, d := s[0], s[1], s[2]
	if !near(float64(b.MeanAccuracy), 0.91, 1e-12) || !near(float64(b.StdAccuracy), math.Sqrt(0.0002), 1e-12) {
		t.Errorf("baseline mean/std %v %v", b.MeanAccuracy, b.StdAccuracy)
	}
	// fuzzy: 95 % at steps 200 and 100 → mean 150; 97 % only by seed 1 at step 200.
	// Thresholds 80, 85, 90, 95, 97 %.
	if f.StepsTo[3].Reached != 2 || f.StepsTo[3].MeanSteps != 150 || f.StepsTo[4].Reached != 1 || f.StepsTo[4].MeanSteps != 200 ||
		b.StepsTo[0].MeanSteps != 100 || b.StepsTo[1].MeanSteps != 200 {
		t.Errorf("fuzzy steps-to: %+v", f.StepsTo)
	}
	if !near(float64(f.AUC), (0.91+0.95+0.96+0.97)/4, 1e-12) {
		t.Errorf("fuzzy AUC %v", f.AUC)
	}
	// Welch by hand: means 0.96 vs 0.91, both variances 0.0002, se² = 0.0002, t = 0.05/√0.0002 = 3.5355, df = 2;
	// p = 1 − t/√(2+t²) = 0.0715; d = 0.05/√0.0002 = 3.5355.
	tt := 0.05 / math.Sqrt(0.0002)
	if !near(float64(f.T), tt, 1e-9) || !near(float64(f.DF), 2, 1e-9) || !near(float64(f.P), 1-tt/math.Sqrt(2+tt*tt), 1e-9) ||
		!near(float64(f.CohenD), tt, 1e-9) {
		t.Errorf("fuzzy stats: t %v df %v p %v d %v", f.T, f.DF, f.P, f.CohenD)
	}
	if !math.IsNaN(float64(b.P)) || d.Runs != 1 || d.Failed != 1 || !math.IsNaN(float64(d.P)) {
		t.Errorf("baseline p %v; dale runs %d failed %d p %v", b.P, d.Runs, d.Failed, d.P)
	}
}

func TestMarkdownTable(t *testing.T) {
	md := MarkdownTable(Summarize(fakeResult()))
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != 5 {
		t.Fatalf("want header, separator and 3 rows:\n%s", md)
	}
	wants := []string{
		"| baseline | 91.00 ± 1.41 % | 100 | 200 | 200 | – | – | 86.50 % | – | – | 2.0 |",
		"| fuzzy | 96.00 ± 1.41 % | 100 | 100 | 100 | 150 | 200 (1/2) | 94.75 % | 0.0715 | 3.54 | 2.0 |",
		"| dale (1 failed) | 60.00 ± – % | – | – | – | – | – | 55.00 % | – | – | 2.0 |",
	}
	for i, w := range wants {
		if lines[2+i] != w {
			t.Errorf("row %d:\n got %s\nwant %s", i, lines[2+i], w)
		}
	}
	if !strings.HasPrefix(lines[0], "| variant | final val accuracy") || !strings.Contains(lines[0], "steps to 97 %") {
		t.Errorf("header: %s", lines[0])
	}
}

func TestWriteOutputs(t *testing.T) {
	dir := t.TempDir()
	out, err := WriteOutputs(dir, fakeResult())
	if err != nil {
		t.Fatal(err)
	}
	// CSV: header + 2 points × 5 successful runs + 1 failed row.
	data, _ := os.ReadFile(out.CSV)
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) != 1+10+1 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") || rows[1][0] != BaselineName || rows[1][7] != "100" ||
		rows[1][9] != "0.8" || rows[1][13] != "0.2" || rows[1][12] != "" || rows[11][16] != "boom" {
		t.Errorf("csv rows: %v / %v / %v", rows[0], rows[1], rows[11])
	}
	// JSON: decodes, with config, runs and summaries (NaN as null).
	data, _ = os.ReadFile(out.JSON)
	var rep struct {
		Config    CompareConfig `json:"config"`
		Runs      []*RunResult  `json:"runs"`
		Summaries []Summary     `json:"summaries"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("json: %v", err)
	}
	if rep.Config.Epochs != 2 || len(rep.Runs) != 6 || len(rep.Summaries) != 3 || !math.IsNaN(float64(rep.Summaries[0].P)) ||
		rep.Config.Base.FuzzyLearningRateFactorNu != 0.09 {
		t.Errorf("json content: %+v", rep.Config)
	}
	md, _ := os.ReadFile(out.Markdown)
	if !strings.Contains(string(md), "| fuzzy | 96.00 ± 1.41 %") {
		t.Errorf("markdown:\n%s", md)
	}
	if len(out.Plots) != 1 || filepath.Base(out.Plots[0]) != "learning_curves.png" {
		t.Fatalf("plots: %v", out.Plots)
	}
	f, err := os.Open(out.Plots[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("png: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 400 {
		t.Errorf("png size %v: want two panels side by side", b)
	}
}

func TestAggregateCurves(t *testing.T) {
	r := fakeResult()
	mc, ok := AggregateCurves(r, "fuzzy")
	if !ok || len(mc.Steps) != 2 || !near(mc.Mean[0], 0.935, 1e-12) || mc.Min[0] != 0.91 || mc.Max[1] != 0.97 {
		t.Errorf("fuzzy: %+v", mc)
	}
	if _, ok := AggregateCurves(r, "nope"); ok {
		t.Error("unknown variant aggregated")
	}
}

func TestLegendInTheFreeCorner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scale   float64 // multiplies every accuracy of fakeResult (0.5–0.97)
		wantTop bool
	}{
		{"curves end high: legend at the bottom", 1, false},
		{"curves end low: legend at the top", 0.25, true},
	} {
		r := fakeResult()
		for _, run := range r.Runs {
			for i := range run.Curve {
				run.Curve[i].ValAccuracy *= tc.scale
			}
		}
		p, err := curvesPlot(r, tc.name, []string{BaselineName, "fuzzy"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Legend.Top != tc.wantTop {
			t.Errorf("%s: Legend.Top = %v (y from %g to %g)", tc.name, p.Legend.Top, p.Y.Min, p.Y.Max)
		}
	}
}

func TestModelSizeAndWallTime(t *testing.T) {
	for _, tc := range []struct {
		cfg  CompareConfig
		want string
	}{
		{CompareConfig{Model: "fcnet"}, "width 1000"},
		{CompareConfig{Model: "fcnet", Width: 100}, "width 100"},
		{CompareConfig{Model: "resnet20", StageWidths: []int{6, 12, 24}}, "stage widths [6 12 24]"},
		{CompareConfig{Model: "alexnetmini"}, "the paper's size"},
		{CompareConfig{Model: "alexnetmini", Width: 50}, "width 50 %"},
	} {
		if got := modelSize(tc.cfg); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.cfg, got, tc.want)
		}
	}
	r := fakeResult()
	r.WallSeconds = 3
	for i, run := range r.Runs {
		run.WallSeconds = float64(10 * (i + 1)) // 10 + 20 + … + 60 = 210
	}
	if md := MarkdownReport(r); !strings.Contains(md, "Wall time of the runs 210 s in all (3 s in the last invocation") {
		t.Errorf("report header:\n%s", md[:300])
	}
}
