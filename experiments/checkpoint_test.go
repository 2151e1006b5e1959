package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunCheckpointResume trains 1 epoch with checkpoints, resumes to 2 epochs, and compares with an
// uninterrupted 2-epoch run of the same configuration: the results must be identical.
func TestRunCheckpointResume(t *testing.T) {
	trainSet, valSet := synthetic("train", 400, 21), synthetic("val", 100, 22)
	cfgBio := PaperBioConfig()
	cfgBio.FuzzyLearningRates, cfgBio.RejuvenateWeights, cfgBio.WeightSplittingGamma = true, true, 2
	for _, tc := range []struct {
		name string
		cfg  RunConfig
	}{
		{"baseline", RunConfig{Variant: "baseline", Model: "fcnet", Width: 8, Seed: 4, Epochs: 1, LR: 0.3, BatchSize: 20}},
		{"fuzzy+rejuvenation", RunConfig{Variant: "fuzzy+rejuvenation", Model: "fcnet", Width: 8, Seed: 4, Epochs: 1, LR: 0.3,
			BatchSize: 20, Bio: &cfgBio}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			first, err := Run(tc.cfg, trainSet, valSet, RunOptions{Checkpoint: dir})
			if err != nil {
				t.Fatal(err)
			}
			if entries, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*")); len(entries) == 0 {
				t.Fatalf("no checkpoint written in %s", dir)
			}
			// Without Resume, a folder with checkpoints is refused.
			if _, err := Run(tc.cfg, trainSet, valSet, RunOptions{Checkpoint: dir}); err == nil || !strings.Contains(err.Error(), "resume") {
				t.Fatalf("reusing a checkpoint folder: got %v", err)
			}
			cfg2 := tc.cfg
			cfg2.Epochs = 2
			resumed, err := Run(cfg2, trainSet, valSet, RunOptions{Checkpoint: dir, Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			if resumed.ResumedFrom != first.Steps || resumed.Steps != 2*first.Steps || len(resumed.Curve) != 2 ||
				resumed.Curve[0] != first.Curve[0] {
				t.Fatalf("resumed from %d to %d, curve %+v (first run: %d steps, curve %+v)", resumed.ResumedFrom,
					resumed.Steps, resumed.Curve, first.Steps, first.Curve)
			}
			straight, err := Run(cfg2, trainSet, valSet, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := straight.FinalLoss - resumed.FinalLoss; d != 0 {
				t.Errorf("resumed run ends at val loss %.6f, uninterrupted at %.6f", resumed.FinalLoss, straight.FinalLoss)
			}
			if _, err := os.Stat(filepath.Join(dir, curveFile)); err != nil {
				t.Errorf("curve file: %v", err)
			}
		})
	}
}
