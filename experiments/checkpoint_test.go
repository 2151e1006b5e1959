package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
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
				!reflect.DeepEqual(resumed.Curve[0], first.Curve[0]) {
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

// TestRunStopResumeMidEpoch stops a run mid-epoch three times through RunOptions.Stop (each stop saves a
// checkpoint after the current step), resumes it each time, and compares every reported number with an
// uninterrupted run: the curves, train_loss included, must be bit-identical.
func TestRunStopResumeMidEpoch(t *testing.T) {
	trainSet, valSet := synthetic("train", 400, 21), synthetic("val", 100, 22)
	cfgBio := PaperBioConfig()
	cfgBio.FuzzyLearningRates, cfgBio.RejuvenateWeights, cfgBio.VolumeDependentLR = true, true, true
	cfg := RunConfig{Variant: "bio", Model: "fcnet", Width: 8, Seed: 5, Epochs: 2, LR: 0.3, BatchSize: 20, EvalEvery: 3, Bio: &cfgBio}
	straight, err := Run(cfg, trainSet, valSet, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	stopped := make(chan struct{})
	close(stopped)
	opts := RunOptions{Checkpoint: dir, Stop: stopped, KeepCheckpoints: 1}
	for i := range 3 {
		_, err := Run(cfg, trainSet, valSet, opts)
		if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), fmt.Sprintf("at step %d", i+1)) {
			t.Fatalf("stop %d: got %v, want ErrInterrupted at step %d", i, err, i+1)
		}
		opts.Resume = true
	}
	opts.Stop = nil
	resumed, err := Run(cfg, trainSet, valSet, opts)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.ResumedFrom != 3 || len(resumed.Curve) != len(straight.Curve) {
		t.Fatalf("resumed from %d with %d evaluations, want 3 and %d", resumed.ResumedFrom, len(resumed.Curve), len(straight.Curve))
	}
	for i, p := range straight.Curve {
		q := resumed.Curve[i]
		p.Seconds, q.Seconds = 0, 0
		if !reflect.DeepEqual(p, q) {
			t.Errorf("evaluation %d: resumed %+v, uninterrupted %+v", i, q, p)
		}
	}
}

// TestSetAsideDamagedCheckpoint damages the newest checkpoint as a kill during a save would (metadata file
// cut short) and checks that the run resumes from the previous one, and that with no intact checkpoint the
// error names the damaged file.
func TestSetAsideDamagedCheckpoint(t *testing.T) {
	trainSet, valSet := synthetic("train", 400, 21), synthetic("val", 100, 22)
	cfg := RunConfig{Variant: "baseline", Model: "fcnet", Width: 8, Seed: 4, Epochs: 1, LR: 0.3, BatchSize: 20}
	dir := filepath.Join(t.TempDir(), "ckpt")
	if _, err := Run(cfg, trainSet, valSet, RunOptions{Checkpoint: dir, SaveEverySteps: 5}); err != nil {
		t.Fatal(err)
	}
	bases, _ := listCheckpoints(dir)
	if len(bases) != 2 {
		t.Fatalf("checkpoints %v, want the last 2", bases)
	}
	for _, base := range bases {
		if err := CheckCheckpoint(dir, base); err != nil {
			t.Fatalf("intact checkpoint reported: %v", err)
		}
	}
	for _, tc := range []struct {
		name, suffix string
		keep         int64
	}{{"metadata cut short", checkpoints.JsonNameSuffix, 100}, {"data cut short", checkpoints.BinDataSuffix, 60}} {
		newest := filepath.Join(dir, bases[1]+tc.suffix)
		orig, _ := os.ReadFile(newest)
		if err := os.Truncate(newest, tc.keep); err != nil {
			t.Fatal(err)
		}
		if err := CheckCheckpoint(dir, bases[1]); err == nil || !strings.Contains(err.Error(), newest) {
			t.Errorf("%s: CheckCheckpoint = %v, want an error naming %s", tc.name, err, newest)
		}
		var log strings.Builder
		if err := setAsideDamaged(dir, &log); err != nil || !strings.Contains(log.String(), "resuming from "+bases[0]) {
			t.Errorf("%s: %v, log %q", tc.name, err, log.String())
		}
		if left, _ := listCheckpoints(dir); len(left) != 1 || left[0] != bases[0] {
			t.Errorf("%s: checkpoints left %v", tc.name, left)
		}
		// Put it back for the next case.
		for _, suffix := range []string{checkpoints.JsonNameSuffix, checkpoints.BinDataSuffix} {
			_ = os.Rename(filepath.Join(dir, "damaged-"+bases[1]+suffix), filepath.Join(dir, bases[1]+suffix))
		}
		_ = os.WriteFile(newest, orig, 0o644)
	}
}

// TestNoIntactCheckpoint: when every checkpoint is damaged, resuming is an error naming each, and nothing is
// moved.
func TestNoIntactCheckpoint(t *testing.T) {
	dir := t.TempDir()
	for i, meta := range []string{`{"Variables": [`, `{"Variables": [{"ParameterName": "/x", "Dimensions": [2], "DType": "Float32", "Pos": 0, "Length": 8}]}`} {
		base := fmt.Sprintf("checkpoint-n%07d-20261128-180000-step-%08d", i, 10*i+10)
		_ = os.WriteFile(filepath.Join(dir, base+checkpoints.JsonNameSuffix), []byte(meta), 0o644)
		_ = os.WriteFile(filepath.Join(dir, base+checkpoints.BinDataSuffix), []byte{1, 2, 3}, 0o644)
	}
	err := setAsideDamaged(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "metadata file damaged") || !strings.Contains(err.Error(), "holds 3 bytes, the metadata announces 8") {
		t.Errorf("got %v", err)
	}
	if left, _ := listCheckpoints(dir); len(left) != 2 {
		t.Errorf("checkpoints left: %v", left)
	}
}

// TestRestoreTrainableFlagsAfterLoad loads a run's checkpoint into a fresh context all at once (every
// variable then comes back trainable, since checkpoints do not store the flag) and checks that
// restoreTrainableFlags makes the state non-trainable (GoMLX's metric states under /metrics included) and
// leaves exactly the model's weights and biases trainable.
func TestRestoreTrainableFlagsAfterLoad(t *testing.T) {
	trainSet, valSet := synthetic("train", 200, 21), synthetic("val", 100, 22)
	cfgBio := PaperBioConfig()
	cfgBio.FuzzyLearningRates = true
	cfg := RunConfig{Variant: "fuzzy", Model: "fcnet", Width: 8, Seed: 4, Epochs: 1, LR: 0.3, BatchSize: 20, Bio: &cfgBio}
	dir := filepath.Join(t.TempDir(), "ckpt")
	if _, err := Run(cfg, trainSet, valSet, RunOptions{Checkpoint: dir}); err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	if _, err := checkpoints.Build(ctx).Dir(dir).Immediate().Done(); err != nil {
		t.Fatal(err)
	}
	var metricVars []string
	for v := range ctx.IterVariables() {
		if !v.Trainable {
			t.Fatalf("%s/%s loaded non-trainable: the premise of this test changed", v.Scope(), v.Name())
		}
	}
	bio.RestoreTrainableFlags(ctx)
	for v := range ctx.IterVariables() {
		model := strings.HasSuffix(v.Scope(), "/dense") && !strings.HasPrefix(v.Scope(), "/bio") &&
			(v.Name() == "weights" || v.Name() == "biases")
		if v.Trainable != model {
			t.Errorf("%s/%s: trainable %v after restoreTrainableFlags", v.Scope(), v.Name(), v.Trainable)
		}
		if strings.HasPrefix(v.Scope(), "/metrics/") {
			metricVars = append(metricVars, v.Scope()+"/"+v.Name())
		}
	}
	if len(metricVars) == 0 {
		t.Fatal("no metric variables in the checkpoint")
	}
	t.Logf("metric state variables: %v", metricVars)
}
