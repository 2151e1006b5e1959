package inversion

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/experiments"
	"github.com/bio-transformations/go-bio/internal/synth"
)

// synthetic returns a small learnable data set (see synth.Digits).
func synthetic(name string, n int, seed uint64) *idx.Dataset { return synth.Digits(name, n, seed) }

func tinyExperiment() ExperimentConfig {
	c := DefaultExperimentConfig()
	c.Width, c.Variants, c.Seeds = 8, []string{"fuzzy"}, 1
	c.Snapshots, c.BatchSizes, c.Batches = []int{0, 20}, []int{1, 2}, 1
	c.LR, c.TrainBatchSize, c.EvalSize = 0.3, 20, 50
	c.Attack.Iterations = 60
	c.Parallel = 2
	return c
}

// tinyRun is the result of the tiny experiment (run once, shared by the tests below) and its log.
var tinyRun = sync.OnceValues(func() (*ExperimentResult, error) {
	res, err := Run(tinyExperiment(), synthetic("train", 200, 1), synthetic("test", 60, 2), &tinyLog)
	if err == nil && len(res.Errors) > 0 {
		err = fmt.Errorf("victims failed: %v", res.Errors)
	}
	return res, err
})

var tinyLog bytes.Buffer

func tinyResult(t *testing.T) *ExperimentResult {
	t.Helper()
	res, err := tinyRun()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestExperimentRun checks the bookkeeping of a tiny experiment: every (variant, snapshot, observation,
// batch size, batch) attacked once on the same images for every variant; where the observed gradients must
// be identical (the baseline's update is its gradient; at step 0 the fuzzy victim has the baseline's
// weights) the results are identical.
func TestExperimentRun(t *testing.T) {
	res, cfg, log := tinyResult(t), tinyExperiment(), &tinyLog
	if want := 2 * 2 * 2 * 2; len(res.Records) != want { // variants × snapshots × observations × batch sizes
		t.Fatalf("%d records, want %d", len(res.Records), want)
	}
	if n := strings.Count(log.String(), "\n"); n != len(res.Records) {
		t.Errorf("%d log lines for %d records", n, len(res.Records))
	}
	find := func(variant string, step int, obs Observation, bs int) *Record {
		for _, r := range res.Records {
			if r.Variant == variant && r.Step == step && r.Observe == obs && r.BatchSize == bs {
				return r
			}
		}
		t.Fatalf("no record %s/%d/%s/%d", variant, step, obs, bs)
		return nil
	}
	for _, bs := range cfg.BatchSizes {
		for _, step := range cfg.Snapshots {
			g, u := find("baseline", step, ObserveGradient, bs), find("baseline", step, ObserveUpdate, bs)
			if !reflect.DeepEqual(g.MSE, u.MSE) || g.BestObjective != u.BestObjective {
				t.Errorf("baseline step %d bs %d: the update differs from the gradient: %v vs %v", step, bs, g.MSE, u.MSE)
			}
			// The authors' metric is the cosine term of the objective at the returned (best) reconstruction.
			for _, r := range []*Record{g, u} {
				if !(r.MatchingCost >= 0 && r.MatchingCost <= 2 && r.MatchingCost <= r.BestObjective+1e-5) || r.MatchingCost == 0 {
					t.Errorf("step %d bs %d: matching cost %g, best objective %g", step, bs, r.MatchingCost, r.BestObjective)
				}
			}
			f := find("fuzzy", step, ObserveGradient, bs)
			if !reflect.DeepEqual(f.Indices, g.Indices) || len(f.Indices) != bs {
				t.Errorf("variants attacked different images: %v vs %v", f.Indices, g.Indices)
			}
			for i, m := range f.MSE {
				if want := min(10*math.Log10(1/m), MaxPSNR); math.Abs(f.PSNR[i]-want) > 1e-9 {
					t.Errorf("PSNR %g for MSE %g", f.PSNR[i], m)
				}
			}
		}
		b0, f0 := find("baseline", 0, ObserveGradient, bs), find("fuzzy", 0, ObserveGradient, bs)
		if !reflect.DeepEqual(b0.MSE, f0.MSE) || b0.VictimAccuracy != f0.VictimAccuracy {
			t.Errorf("step 0: the fuzzy victim's gradient attack differs from the baseline's: %v vs %v", f0.MSE, b0.MSE)
		}
		// The private factors change what the attacker sees, so the fuzzy update attack differs.
		if fu := find("fuzzy", 0, ObserveUpdate, bs); fu.BestObjective == f0.BestObjective {
			t.Errorf("step 0 bs %d: the fuzzy update gave the same objective as the gradient (%g)", bs, fu.BestObjective)
		}
		a5 := find("baseline", 20, ObserveGradient, bs).VictimAccuracy
		t.Logf("victim accuracy %.2f at step 0, %.2f at step 20", b0.VictimAccuracy, a5)
		if !(a5 > b0.VictimAccuracy+0.1) {
			t.Errorf("victim accuracy did not rise with training: %g → %g", b0.VictimAccuracy, a5)
		}
	}

}

// TestExperimentReproducible runs the tiny experiment again: every record is identical.
func TestExperimentReproducible(t *testing.T) {
	res, cfg := tinyResult(t), tinyExperiment()
	trainSet, testSet := synthetic("train", 200, 1), synthetic("test", 60, 2)
	again, err := Run(cfg, trainSet, testSet, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Records {
		a, b := *res.Records[i], *again.Records[i]
		a.Seconds, b.Seconds = 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("record %d not reproducible:\n%+v\n%+v", i, a, b)
		}
	}

}

// TestExperimentSummaries checks the summary rows of the tiny experiment.
func TestExperimentSummaries(t *testing.T) {
	res := tinyResult(t)
	sums := Summarize(res)
	if len(sums) != 16 || sums[0].Variant != experiments.BaselineName || !math.IsNaN(sums[0].P) || sums[0].Images != 1 {
		t.Fatalf("summaries: %+v", sums)
	}
	for i, s := range sums {
		// Rows come as baseline, fuzzy per (observation, step, batch size).
		if s.Variant == "fuzzy" && s.Step == 0 && s.Observe == ObserveGradient && s.MeanPSNR != sums[i-1].MeanPSNR {
			t.Errorf("step 0 fuzzy vs baseline (identical victims): mean PSNR %g vs %g", s.MeanPSNR, sums[i-1].MeanPSNR)
		}
		if want := s.BatchSize; s.Images != want {
			t.Errorf("%+v: %d images, want %d", s, s.Images, want)
		}
	}
}

// TestExperimentOutputs writes the reports and pictures of the tiny experiment and reads the JSON back.
func TestExperimentOutputs(t *testing.T) {
	res := tinyResult(t)
	dir := t.TempDir()
	outs, err := WriteOutputs(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs.Pictures) != 4 {
		t.Errorf("pictures %v, want one per observation and snapshot", outs.Pictures)
	}
	for _, p := range outs.Pictures {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		_ = f.Close()
	}
	md, _ := os.ReadFile(outs.Markdown)
	if !strings.Contains(string(md), "| gradient | 0 | 1 | baseline |") || !strings.Contains(string(md), filepath.Base(outs.Pictures[0])) {
		t.Errorf("attack.md:\n%s", md)
	}
	csvData, _ := os.ReadFile(outs.CSV)
	if n := strings.Count(string(csvData), "\n"); n != 1+2*2*2*(1+2) { // header + images
		t.Errorf("attack.csv has %d lines", n)
	}
	f, err := os.Open(outs.JSON)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(f)
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Records, res.Records) || len(back.Originals) != len(res.Originals) || len(back.Originals) == 0 {
		t.Error("attack.json does not read back the same records")
	}
}

func TestExperimentConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		set   func(c *ExperimentConfig)
	}{
		{"seeds", func(c *ExperimentConfig) { c.Seeds = 0 }},
		{"snapshots", func(c *ExperimentConfig) { c.Snapshots = []int{300, 0} }},
		{"snapshots", func(c *ExperimentConfig) { c.Snapshots = nil }},
		{"batch_sizes", func(c *ExperimentConfig) { c.BatchSizes = []int{0} }},
		{"batches", func(c *ExperimentConfig) { c.Batches = -1 }},
		{"lr", func(c *ExperimentConfig) { c.LR = 0 }},
		{"train_batch_size", func(c *ExperimentConfig) { c.TrainBatchSize = 0 }},
		{"observations", func(c *ExperimentConfig) { c.Observations = nil }},
		{"observe", func(c *ExperimentConfig) { c.Observations = []Observation{"grad"} }},
		{"iterations", func(c *ExperimentConfig) { c.Attack.Iterations = 0 }},
		{"unknown variant", func(c *ExperimentConfig) { c.Variants = []string{"fuzzzy"} }},
		{"unknown model", func(c *ExperimentConfig) { c.Model = "vgg" }},
	} {
		c := DefaultExperimentConfig()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	if err := DefaultExperimentConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := PaperExperimentConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := tinyExperiment()
	c.BatchSizes = []int{100}
	if _, err := Run(c, synthetic("a", 50, 1), synthetic("b", 30, 2), nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("batch larger than the test set: %v", err)
	}
}

// TestExperimentResumes: an attack experiment whose folder lost a victim (as a killed one would not have
// written it) attacks only that victim again, and its table equals the uninterrupted one; a changed design
// under the same folder is an error.
func TestExperimentResumes(t *testing.T) {
	trainSet, testSet := synthetic("train", 200, 1), synthetic("test", 60, 2)
	cfg := tinyExperiment()
	straight, err := Run(cfg, trainSet, testSet, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ResultsDir = t.TempDir()
	if _, err := Run(cfg, trainSet, testSet, nil); err != nil {
		t.Fatal(err)
	}
	victims, _ := filepath.Glob(filepath.Join(cfg.ResultsDir, "attack-runs", "*-seed*.json"))
	if len(victims) != 2 {
		t.Fatalf("victim files %v, want 2", victims)
	}
	_ = os.Remove(victims[0])
	cfg.Parallel = 1
	resumed, err := Run(cfg, trainSet, testSet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := MarkdownTable(Summarize(resumed)), MarkdownTable(Summarize(straight)); a != b {
		t.Errorf("resumed table\n%s\nuninterrupted\n%s", a, b)
	}
	cfg.Attack.Iterations++
	if _, err := Run(cfg, trainSet, testSet, nil); err == nil || !strings.Contains(err.Error(), "another design (attack differ)") {
		t.Errorf("changed design: %v", err)
	}
}
