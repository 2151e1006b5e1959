package main

import (
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

func tinyOptions(t *testing.T) *options {
	return &options{backend: "go", reference: "go", width: 8, batch: 4, steps: 2, seed: 3, lr: 0.1,
		cases: "none,fuzzy,rejuvenation,crystallize,dale,all", timeModels: "fcnet", timeBatch: 4, timeSteps: 1,
		fcnetWidth: 16, out: filepath.Join(t.TempDir(), "r.json")}
}

// The Go backend against itself: the RNG bits, every initialisation and every step are identical.
func TestRunGoAgainstGoIsIdentical(t *testing.T) {
	rep, err := run(tinyOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass || !rep.RNG.BitsIdentical || rep.RNG.Uniform.KS != 0 {
		t.Fatalf("pass=%v bits identical=%v failures %q", rep.Pass, rep.RNG.BitsIdentical, rep.Failures)
	}
	for _, c := range rep.Cases {
		if c.InitIdenticalVariables != len(c.Init) {
			t.Errorf("%s: %d of %d variables identical after init", c.Case, c.InitIdenticalVariables, len(c.Init))
		}
		for _, vc := range c.Steps {
			if !vc.Identical {
				t.Errorf("%s: %s differs after the steps (max %g)", c.Case, vc.Variable, vc.MaxAbs)
			}
		}
	}
	if len(rep.Timings) != len(timedVariants) {
		t.Fatalf("%d timings, want %d", len(rep.Timings), len(timedVariants))
	}
	if err := writeJSON(filepath.Join(t.TempDir(), "x.json"), rep); err != nil {
		t.Fatal(err)
	}
}

func contextWith(values ...float32) *context.Context {
	ctx := context.New()
	ctx.In("layer").VariableWithValue("w", tensors.FromFlatDataAndDimensions(values, len(values)))
	return ctx
}

func TestCompareContextsJudges(t *testing.T) {
	ref := make([]float32, 1000)
	for i := range ref {
		ref[i] = float32(i%7) - 3
	}
	close := append([]float32(nil), ref...)
	close[5] += 1e-5 // within 1e-6 + 1e-4·3
	far := append([]float32(nil), ref...)
	far[5], far[6], far[7] = 100, 100, 100 // 0.3% of the elements: beyond MaxOffFraction
	tests := []struct {
		name         string
		b            *context.Context
		distribution bool
		ok           bool
	}{
		{"identical", contextWith(ref...), false, true},
		{"last bits", contextWith(close...), false, true},
		{"three elements off", contextWith(far...), false, false},
		{"missing", context.New(), false, false},
		{"same distribution", contextWith(append(ref[1:], ref[0])...), true, true},
		{"shifted distribution", contextWith(far...), true, false},
	}
	for _, tc := range tests {
		got := compareContexts(contextWith(ref...), tc.b, tc.distribution, defaultTolerances)
		if len(got) != 1 || got[0].OK != tc.ok {
			t.Errorf("%s: got %+v, want ok=%v", tc.name, got, tc.ok)
		}
	}
}

func TestKSDistance(t *testing.T) {
	if d := ksDistance([]float64{1, 2, 3}, []float64{1, 2, 3}); d != 0 {
		t.Errorf("same samples: %g", d)
	}
	if d := ksDistance([]float64{1, 2}, []float64{3, 4}); d != 1 {
		t.Errorf("disjoint samples: %g", d)
	}
}
