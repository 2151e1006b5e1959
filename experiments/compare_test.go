package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
)

func TestDesignVariants(t *testing.T) {
	vs := DesignVariants(PaperBioConfig())
	wantNames := []string{"baseline", "fuzzy", "rejuvenation", "fuzzy+rejuvenation", "Γ2", "fuzzy+Γ2", "rejuvenation+Γ2",
		"fuzzy+rejuvenation+Γ2", "volume_lr", "crystallize", "dale", "synaptic_scaling"}
	if len(vs) != len(wantNames) {
		t.Fatalf("%d variants", len(vs))
	}
	for i, v := range vs {
		if v.Name != wantNames[i] {
			t.Errorf("variant %d: %q, want %q", i, v.Name, wantNames[i])
		}
		if i == 0 {
			if v.Bio != nil {
				t.Error("baseline must have no bio config")
			}
			continue
		}
		c := v.Bio
		on := 0
		for _, b := range []bool{c.FuzzyLearningRates, c.RejuvenateWeights, c.WeightSplittingGamma == 2, c.VolumeDependentLR,
			c.Crystallize, c.ApplyDalesPrinciple, c.ScaleGrad} {
			if b {
				on++
			}
		}
		if want := strings.Count(v.Name, "+") + 1; on != want {
			t.Errorf("%s: %d mechanisms on, want %d", v.Name, on, want)
		}
		if c.FuzzyLearningRateFactorNu != 0.09 || c.RejuvenationParameterDre != 14 {
			t.Errorf("%s: not the paper's ν and d", v.Name)
		}
	}
	cfg := DemoCompareConfig()
	cfg.Variants = []string{"fuzzy", "dale"}
	sel, err := cfg.SelectedVariants()
	if err != nil || len(sel) != 3 || sel[0].Name != BaselineName || sel[2].Name != "dale" {
		t.Errorf("selected: %v, %v", sel, err)
	}
	cfg.Variants = []string{"nope"}
	if _, err := cfg.SelectedVariants(); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown variant: %v", err)
	}
}

func TestCompareConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *CompareConfig)
		wantErr string
	}{
		{"ok", func(c *CompareConfig) {}, ""},
		{"seeds", func(c *CompareConfig) { c.Seeds = 0 }, "seeds=0"},
		{"epochs", func(c *CompareConfig) { c.Epochs = -1 }, "epochs=-1"},
		{"lr", func(c *CompareConfig) { c.LR = 0 }, "lr=0"},
		{"train_size", func(c *CompareConfig) { c.Split.TrainSize = -5 }, "train_size=-5"},
		{"bio", func(c *CompareConfig) { c.Base.FuzzyLearningRateFactorNu = -1 }, "fuzzy_learning_rate_factor_nu"},
	}
	for _, tc := range tests {
		c := DemoCompareConfig()
		tc.mutate(&c)
		err := c.Validate()
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestCompareEndToEnd runs a tiny comparison (2 variants × 2 seeds, generated data, 1 epoch) and writes every output.
func TestCompareEndToEnd(t *testing.T) {
	trainSet, testSet := synthetic("train", 500, 11), synthetic("test", 100, 12)
	cfg := DemoCompareConfig()
	cfg.Width, cfg.Epochs, cfg.EvalEvery, cfg.BatchSize, cfg.LR, cfg.Parallel = 16, 1, 9, 20, 0.5, 2
	cfg.Split.TrainSize, cfg.Split.ValSize = 0, 0
	cfg.Variants = []string{"fuzzy+rejuvenation+Γ2"}
	var log bytes.Buffer
	res, err := Compare(cfg, trainSet, testSet, RunOptions{}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 4 {
		t.Fatalf("%d runs", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Error != "" {
			t.Fatalf("run %s seed %d failed: %s", r.Config.Variant, r.Config.Seed, r.Error)
		}
		// 600 merged examples, 10 % validation → 540 training → 27 steps; evaluations at 9, 18, 27.
		if r.TrainSize != 540 || r.ValSize != 60 || len(r.Curve) != 3 || r.Steps != 27 {
			t.Errorf("%s seed %d: train %d val %d curve %d steps %d", r.Config.Variant, r.Config.Seed, r.TrainSize,
				r.ValSize, len(r.Curve), r.Steps)
		}
		if (r.Config.Variant == BaselineName) != (r.Config.Bio == nil) || (r.Config.Bio != nil && r.Config.Bio.Seed != r.Config.Seed) {
			t.Errorf("%s: bio config %+v", r.Config.Variant, r.Config.Bio)
		}
	}
	if strings.Count(log.String(), "\n") != 4 {
		t.Errorf("log:\n%s", log.String())
	}
	dir := t.TempDir()
	out, err := WriteOutputs(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(out.Markdown)
	lines := strings.Split(string(md), "\n")
	var rows []string
	for _, l := range lines {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| variant") {
			rows = append(rows, l)
		}
	}
	// The results table, the final-epoch measures, the steps to accuracies and the per-epoch measures (one
	// epoch): two rows each.
	if len(rows) != 8 || !strings.HasPrefix(rows[0], "| baseline |") || !strings.HasPrefix(rows[1], "| fuzzy+rejuvenation+Γ2 |") ||
		!strings.HasPrefix(rows[3], "| fuzzy+rejuvenation+Γ2 | ") || !strings.Contains(rows[3], " (p ") || !strings.HasPrefix(rows[6], "| baseline | 1 |") {
		t.Errorf("markdown rows: %q", rows)
	}
	for _, p := range append([]string{out.CSV, out.JSON}, out.Plots...) {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("output %q: %v", p, err)
		}
	}
}

// TestCompareFailedRuns checks that a failing variant is recorded and reported without stopping the others,
// and that an invalid backend configuration fails every run with an error naming it.
func TestCompareFailedRuns(t *testing.T) {
	trainSet, testSet := synthetic("train", 200, 1), synthetic("test", 50, 2)
	cfg := DemoCompareConfig()
	cfg.Width, cfg.Epochs, cfg.EvalEvery, cfg.BatchSize, cfg.LR, cfg.Parallel = 8, 1, 0, 20, 0.5, 2
	cfg.Split.TrainSize, cfg.Split.ValSize = 0, 0
	cfg.Variants = []string{"dale"}
	failing := func(c bio.Config) (Mechanisms, error) {
		if c.ApplyDalesPrinciple {
			return nil, errors.New("no Dale today")
		}
		return BioConverter(c)
	}
	res, err := Compare(cfg, trainSet, testSet, RunOptions{Converter: failing}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res)
	if s[0].Runs != 2 || s[1].Failed != 2 || !strings.Contains(res.Runs[2].Error, "no Dale today") {
		t.Fatalf("summaries %+v, runs %+v", s, res.Runs)
	}
	if md := MarkdownTable(s); !strings.Contains(md, "| dale (2 failed) | – |") {
		t.Errorf("markdown:\n%s", md)
	}
	_, err = Compare(cfg, trainSet, testSet, RunOptions{BackendConfig: "warp_drive"}, nil)
	if err == nil || !strings.Contains(err.Error(), "all 4 runs failed") || !strings.Contains(err.Error(), "warp_drive") {
		t.Errorf("bad backend config: %v", err)
	}
}

// TestCompareResumes: a comparison whose folder lost some runs (as a killed one would not have written them)
// re-runs only those, and its summary table equals the uninterrupted comparison's in every column but the
// timings; a changed design under the same folder is an error naming the changed field.
func TestCompareResumes(t *testing.T) {
	trainSet, testSet := synthetic("train", 300, 11), synthetic("test", 60, 12)
	cfg := DemoCompareConfig()
	cfg.Width, cfg.Epochs, cfg.EvalEvery, cfg.BatchSize, cfg.LR, cfg.Parallel = 8, 1, 5, 20, 0.5, 2
	cfg.Split.TrainSize, cfg.Split.ValSize = 0, 0
	cfg.Variants = []string{"fuzzy"}
	straight, err := Compare(cfg, trainSet, testSet, RunOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ResultsDir = t.TempDir()
	if _, err := Compare(cfg, trainSet, testSet, RunOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	runs, _ := filepath.Glob(filepath.Join(cfg.ResultsDir, "compare-runs", "*-seed*.json"))
	if len(runs) != 4 {
		t.Fatalf("run files %v, want 4", runs)
	}
	for _, p := range runs[:3] { // "killed" before these finished
		_ = os.Remove(p)
	}
	var log bytes.Buffer
	cfg.Parallel = 1 // not part of the design
	resumed, err := Compare(cfg, trainSet, testSet, RunOptions{}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "kept from an earlier"); n != 1 {
		t.Errorf("%d runs kept, want 1:\n%s", n, log.String())
	}
	timeless := func(ss []Summary) []Summary {
		for i := range ss {
			ss[i].MedianStepMs = 0
		}
		return ss
	}
	if a, b := MarkdownTable(timeless(Summarize(resumed))), MarkdownTable(timeless(Summarize(straight))); a != b {
		t.Errorf("resumed table\n%s\nuninterrupted\n%s", a, b)
	}
	cfg.LR = 0.4
	if _, err := Compare(cfg, trainSet, testSet, RunOptions{}, nil); err == nil || !strings.Contains(err.Error(), "another design (lr differ)") {
		t.Errorf("changed design: %v", err)
	}
}

// TestCompareKeepModels keeps each run's checkpoint and run.json; HessianAt reads them, and a run whose result
// was lost (killed after its last checkpoint) continues from its checkpoint to the same result.
func TestCompareKeepModels(t *testing.T) {
	trainSet, testSet := synthetic("train", 300, 11), synthetic("test", 60, 12)
	cfg := PaperProtocolCompareConfig()
	cfg.Width, cfg.Seeds, cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.Parallel = 8, 1, 2, 20, 0.5, 1
	cfg.Variants = []string{SplitStepControlName}
	cfg.ResultsDir, cfg.KeepModels = t.TempDir(), true
	first, err := Compare(cfg, trainSet, testSet, RunOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"baseline-seed0", SplitStepControlName + "-seed0"} {
		dir := filepath.Join(cfg.ResultsDir, ModelsDir, name)
		raw, err := os.ReadFile(filepath.Join(dir, "run.json"))
		var saved struct {
			Run RunConfig `json:"run"`
		}
		if err != nil || json.Unmarshal(raw, &saved) != nil || !HasCheckpoints(dir) {
			t.Fatalf("%s: run.json %v, checkpoints %v", dir, err, HasCheckpoints(dir))
		}
		h, err := HessianAt(saved.Run, dir, trainSet, HessianConfig{Batches: 1, BatchSize: 20, Iterations: 4}, RunOptions{})
		if err != nil || !(h.Min <= h.Max) {
			t.Errorf("%s: Hessian %+v, %v", name, h, err)
		}
	}
	if err := os.Remove(filepath.Join(cfg.ResultsDir, "compare-runs", "baseline-seed0.json")); err != nil {
		t.Fatal(err)
	}
	again, err := Compare(cfg, trainSet, testSet, RunOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := again.Runs[0], first.Runs[0]; a.FinalAccuracy != b.FinalAccuracy || a.FinalLoss != b.FinalLoss || a.Error != "" {
		t.Errorf("continued run: acc %g loss %g (%s), first %g %g", a.FinalAccuracy, a.FinalLoss, a.Error, b.FinalAccuracy, b.FinalLoss)
	}
}

// TestCompareRefusesResultsOfAnotherSplitAlgorithm: a results folder whose design predates the recorded
// split algorithm (runs drawn with other indices) is refused, naming the field.
func TestCompareRefusesResultsOfAnotherSplitAlgorithm(t *testing.T) {
	trainSet, testSet := synthetic("train", 300, 11), synthetic("test", 60, 12)
	cfg := DemoCompareConfig()
	cfg.Width, cfg.Epochs, cfg.EvalEvery, cfg.BatchSize, cfg.LR = 8, 1, 5, 20, 0.5
	cfg.Variants = []string{"fuzzy"}
	cfg.ResultsDir = t.TempDir()
	old := cfg
	old.Parallel = 0
	data, err := json.Marshal(old) // the design as it was recorded before split_indices existed
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cfg.ResultsDir, "compare-runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "design.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Compare(cfg, trainSet, testSet, RunOptions{}, nil); err == nil || !strings.Contains(err.Error(), "split_indices") {
		t.Fatalf("want an error naming split_indices, got %v", err)
	}
}

// TestResultStoreLock: while one experiment holds an output folder, a second one is refused with an error
// naming the folder, and the folder is free again once the first closes its store; a design mismatch
// releases the lock it took.
func TestResultStoreLock(t *testing.T) {
	dir := t.TempDir()
	design := map[string]int{"epochs": 1}
	first, err := OpenResultStore(dir, "compare", design)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenResultStore(dir, "compare", design); err == nil || !strings.Contains(err.Error(), "in use by another running experiment") ||
		!strings.Contains(err.Error(), dir) {
		t.Fatalf("second open while the first holds the folder: %v", err)
	}
	if _, err := OpenResultStore(dir, "attack", design); err != nil {
		t.Errorf("another kind of experiment in the same folder: %v", err)
	}
	if err := first.Close(); err != nil || first.Close() != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := OpenResultStore(dir, "compare", map[string]int{"epochs": 2}); err == nil || !strings.Contains(err.Error(), "another design") {
		t.Fatalf("other design: %v", err)
	}
	again, err := OpenResultStore(dir, "compare", design)
	if err != nil {
		t.Fatalf("after close and a refused design: %v", err)
	}
	_ = again.Close()
	var none *ResultStore
	if none.Close() != nil {
		t.Error("nil store Close")
	}
}
