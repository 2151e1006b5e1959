package experiments

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// withTraining gives every curve point of r a training loss of 0.1·epoch and a training accuracy of
// val accuracy + 0.01·seed (so that the gaps are known), except in the runs of variant "dale".
func withTraining(r *CompareResult) *CompareResult {
	for _, run := range r.Runs {
		for i := range run.Curve {
			p := &run.Curve[i]
			p.TrainLoss = 0.1 * p.Epoch
			if run.Config.Variant != "dale" {
				acc := p.ValAccuracy + 0.01*float64(run.Config.Seed)
				p.TrainAccuracy = &acc
			}
		}
	}
	return r
}

// welchP is an independent two-sided Welch test written out from its definition.
func welchP(a, b []float64) float64 {
	mv := func(x []float64) (m, v float64) {
		for _, xi := range x {
			m += xi
		}
		m /= float64(len(x))
		for _, xi := range x {
			v += (xi - m) * (xi - m)
		}
		return m, v / float64(len(x)-1)
	}
	ma, va := mv(a)
	mb, vb := mv(b)
	sa, sb := va/float64(len(a)), vb/float64(len(b))
	t := (ma - mb) / math.Sqrt(sa+sb)
	df := (sa + sb) * (sa + sb) / (sa*sa/float64(len(a)-1) + sb*sb/float64(len(b)-1))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(-math.Abs(t))
}

func TestPointMeasures(t *testing.T) {
	acc := 0.75
	tests := []struct {
		name            string
		p               EvalPoint
		lossGap, accGap float64
	}{
		{"with training accuracy", EvalPoint{ValAccuracy: 0.7, ValLoss: 0.9, TrainLoss: 0.6, TrainAccuracy: &acc}, 0.3, 0.05},
		{"without", EvalPoint{ValAccuracy: 0.7, ValLoss: 0.9, TrainLoss: 0.6}, 0.3, math.NaN()},
		{"negative gap", EvalPoint{ValAccuracy: 0.8, ValLoss: 0.5, TrainLoss: 0.6, TrainAccuracy: &acc}, -0.1, -0.05},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := PointMeasures(tc.p)
			if !near(m[MeasureLossGap], tc.lossGap, 1e-12) {
				t.Errorf("loss gap %v, want %v", m[MeasureLossGap], tc.lossGap)
			}
			if math.IsNaN(tc.accGap) != math.IsNaN(m[MeasureAccuracyGap]) || (!math.IsNaN(tc.accGap) && !near(m[MeasureAccuracyGap], tc.accGap, 1e-12)) {
				t.Errorf("accuracy gap %v, want %v", m[MeasureAccuracyGap], tc.accGap)
			}
		})
	}
}

func TestVariantMeasures(t *testing.T) {
	r := withTraining(fakeResult())
	vm := VariantMeasures(r)
	fz := vm["fuzzy"]
	// Final val accuracies: fuzzy 0.95, 0.97; baseline 0.90, 0.92.
	if s := fz[MeasureValAccuracy]; s.N != 2 || !near(float64(s.Mean), 0.96, 1e-12) || !near(float64(s.Std), math.Sqrt(2e-4), 1e-12) ||
		!near(float64(s.P), welchP([]float64{0.95, 0.97}, []float64{0.90, 0.92}), 1e-9) {
		t.Errorf("fuzzy val accuracy %+v", s)
	}
	// Loss gap at epoch 2: (1 − acc) − 0.2.
	if s := fz[MeasureLossGap]; !near(float64(s.Mean), 1-0.96-0.2, 1e-12) {
		t.Errorf("fuzzy loss gap %+v", s)
	}
	// Accuracy gap: 0.01·seed, seeds 0 and 1.
	if s := fz[MeasureAccuracyGap]; s.N != 2 || !near(float64(s.Mean), 0.005, 1e-12) {
		t.Errorf("fuzzy accuracy gap %+v", s)
	}
	// AUC: mean of (0.91, 0.95) and (0.96, 0.97).
	if s := fz[MeasureAUC]; !near(float64(s.Mean), (0.93+0.965)/2, 1e-12) {
		t.Errorf("fuzzy AUC %+v", s)
	}
	if s := vm[BaselineName][MeasureValAccuracy]; !math.IsNaN(float64(s.P)) || s.N != 2 {
		t.Errorf("baseline tested against itself: %+v", s)
	}
	// dale: one successful run without training accuracy, one failed run.
	if s := vm["dale"][MeasureTrainAccuracy]; s.N != 0 || !math.IsNaN(float64(s.Mean)) {
		t.Errorf("dale train accuracy %+v", s)
	}
	if s := vm["dale"][MeasureValAccuracy]; s.N != 1 || !math.IsNaN(float64(s.P)) {
		t.Errorf("dale (one run) %+v", s)
	}
}

func TestStepsToMeasures(t *testing.T) {
	st := StepsToMeasures(fakeResult())
	// Thresholds 80, 85, 90, 95, 97 %: fuzzy reaches 95 % at steps 200 and 100, 97 % once (step 200);
	// the baseline reaches 90 % at step 200 twice and never 95 %.
	fz, base := st["fuzzy"], st[BaselineName]
	if s := fz[3]; s.N != 2 || s.Mean != 150 || !near(float64(s.Std), math.Sqrt(5000), 1e-9) || !math.IsNaN(float64(s.P)) {
		t.Errorf("fuzzy 95 %%: %+v (the baseline never reached it: no test)", s)
	}
	if s := fz[4]; s.N != 1 || s.Mean != 200 {
		t.Errorf("fuzzy 97 %%: %+v", s)
	}
	if s := base[2]; s.N != 2 || s.Mean != 200 || s.Std != 0 {
		t.Errorf("baseline 90 %%: %+v", s)
	}
	if s := st["dale"][0]; s.N != 0 {
		t.Errorf("dale 80 %%: %+v", s)
	}
	if !strings.Contains(MarkdownMeasures(fakeResult()), "| fuzzy | 100 ± 0 (2/2) | 100 ± 0 (2/2) |") {
		t.Errorf("markdown:\n%s", MarkdownMeasures(fakeResult()))
	}
}

func TestPerEpochMeasures(t *testing.T) {
	r := withTraining(fakeResult())
	pe := PerEpochMeasures(r)
	if len(pe) != 6 {
		t.Fatalf("%d rows, want 3 variants × 2 epochs: %+v", len(pe), pe)
	}
	first := pe[2] // fuzzy, epoch 1: 0.91, 0.96 against 0.80, 0.84
	if first.Variant != "fuzzy" || first.Epoch != 1 {
		t.Fatalf("row 2: %+v", first)
	}
	s := first.Measures[MeasureValAccuracy]
	if !near(float64(s.Mean), 0.935, 1e-12) || !near(float64(s.P), welchP([]float64{0.91, 0.96}, []float64{0.80, 0.84}), 1e-9) {
		t.Errorf("fuzzy epoch 1: %+v", s)
	}
	if _, ok := first.Measures[MeasureAUC]; ok {
		t.Error("AUC reported per epoch")
	}
	// A run missing an epoch drops that epoch for its variant.
	r.Runs[3].Curve = r.Runs[3].Curve[1:]
	for _, em := range PerEpochMeasures(r) {
		if em.Variant == "fuzzy" && em.Epoch == 1 {
			t.Error("fuzzy epoch 1 kept although one run lacks it")
		}
	}
}

func TestMarkdownMeasuresAndJSON(t *testing.T) {
	r := withTraining(fakeResult())
	md := MarkdownMeasures(r)
	want := "| fuzzy | 96.00 ± 1.41 (p " // final val accuracy with its p-value
	if !strings.Contains(md, want) || !strings.Contains(md, "| fuzzy | 1 | 93.50 ± 3.54 (p ") || !strings.Contains(md, "| dale |") {
		t.Errorf("markdown lacks %q or the per-epoch rows:\n%s", want, md)
	}
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "|---") && strings.Count(l, "|") != strings.Count(lines[i-1], "|") {
			t.Errorf("separator %q does not match header %q", l, lines[i-1])
		}
		if i > 0 && strings.HasPrefix(l, "| ") && strings.HasPrefix(lines[i-1], "| ") && strings.Count(l, "|") != strings.Count(lines[i-1], "|") {
			t.Errorf("row %q has another column count than %q", l, lines[i-1])
		}
	}
	var b strings.Builder
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Measures map[string]map[string]MeasureStat `json:"measures"`
		PerEpoch []EpochMeasures                   `json:"per_epoch"`
	}
	if err := json.Unmarshal([]byte(b.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if s := rep.Measures["fuzzy"][MeasureValAccuracy]; s.N != 2 || !near(float64(s.Mean), 0.96, 1e-12) || len(rep.PerEpoch) != 6 {
		t.Errorf("json measures %+v, %d per-epoch rows", s, len(rep.PerEpoch))
	}
	if s := rep.Measures["dale"][MeasureTrainAccuracy]; !math.IsNaN(float64(s.Mean)) {
		t.Errorf("NaN mean did not round-trip as null: %+v", s)
	}
}
