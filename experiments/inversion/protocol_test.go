package inversion

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/experiments"
)

func TestPaperProtocolExperimentConfig(t *testing.T) {
	c := PaperProtocolExperimentConfig()
	a := c.Attack
	if c.Protocol != experiments.ProtocolPaper || c.Model != "fcnet" || c.Width != 0 || c.StageWidths != nil ||
		c.LR != 1e-3 || c.TrainBatchSize != 100 || c.Normalize == nil || *c.Normalize != experiments.MNISTNormalization ||
		c.Base.FuzzyLearningRateFactorNu != 0.09 || c.Base.RejuvenationParameterDre != 8 || c.Base.RejuvenationPeriod != 1 ||
		c.Base.FuzzyLearningRates || c.Base.RejuvenateWeights || c.Base.Crystallize || c.Base.WeightSplittingGamma != 0 ||
		!slices.Equal(c.BatchSizes, []int{2, 4, 8}) || c.Batches != 5 || c.Seeds != 5 || c.FirstSeed != 0 ||
		!slices.Equal(c.Snapshots, []int{600, 30600, 60600, 120600}) || c.Labels != LabelsKnown ||
		!slices.Equal(c.Observations, []Observation{ObserveGradient}) {
		t.Errorf("victims: %+v", c)
	}
	if !a.Signed || a.LearningRate != 0.1 || a.TotalVariation != 1e-6 || a.Iterations != 7000 || a.Min != 0 || a.Max != 1 {
		t.Errorf("attack: %+v", a)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The package-level snapshots are not shared with the configuration.
	c.Snapshots[0] = 1
	if PaperSnapshots[0] != 600 {
		t.Error("PaperProtocolExperimentConfig shares PaperSnapshots")
	}
	r := PaperProtocolExperimentConfig()
	r.Model, r.StageWidths = "resnet20", experiments.PaperStageWidths()
	if err := r.Validate(); err != nil || !slices.Equal(r.StageWidths, []int{6, 12, 24}) {
		t.Errorf("resnet20 6-12-24: %v, %v", r.StageWidths, err)
	}
	for _, tc := range []struct {
		field string
		set   func(c *ExperimentConfig)
	}{
		{"stage_widths", func(c *ExperimentConfig) { c.StageWidths = []int{6, 12, 24} }}, // on fcnet
		{"stage_widths", func(c *ExperimentConfig) { c.Model, c.StageWidths = "resnet20", []int{6, 12} }},
		{"std=0", func(c *ExperimentConfig) { c.Normalize = &experiments.Normalization{Mean: 0.1} }},
		{`labels="dlg" must be "known" or "idlg"`, func(c *ExperimentConfig) { c.Labels = "dlg" }},
	} {
		c := PaperProtocolExperimentConfig()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

// tinyPaperExperiment is PaperProtocolExperimentConfig reduced to seconds on 4×4 synthetic images.
func tinyPaperExperiment(model string) ExperimentConfig {
	c := PaperProtocolExperimentConfig()
	c.Model, c.Variants, c.Seeds = model, []string{"fuzzy+rejuvenation+Γ2"}, 1
	if model == "fcnet" {
		c.Width = 8
	} else {
		c.StageWidths = experiments.PaperStageWidths()
	}
	c.Snapshots, c.BatchSizes, c.Batches = []int{0, 3}, []int{2}, 1
	c.LR, c.TrainBatchSize, c.EvalSize, c.Attack.Iterations, c.Parallel = 0.3, 20, 20, 20, 2
	return c
}

// TestPaperProtocolRuns runs the paper's victims (normalised inputs, ν 0.09, d 8) tiny, FCNet and ResNet-20
// 6-12-24 (BatchNorm: second-order gradients through it on the Go backend), with iDLG labels for the
// ResNet: the reconstructions stay pixels in [0, 1], and the normalisation changes the victims (the same
// design without it attacks differently).
func TestPaperProtocolRuns(t *testing.T) {
	trainSet, testSet := synthetic("train", 200, 1), synthetic("test", 60, 2)
	for _, model := range []string{"fcnet", "resnet20"} {
		cfg := tinyPaperExperiment(model)
		if model == "resnet20" {
			cfg.Labels = LabelsIDLG
		}
		res, err := Run(cfg, trainSet, testSet, nil)
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(res.Errors) > 0 || len(res.Records) != 2*2 {
			t.Fatalf("%s: %d records, errors %v", model, len(res.Records), res.Errors)
		}
		for _, r := range res.Records {
			if len(r.SSIM) != 2 || (r.LabelsCorrect != nil) != (model == "resnet20") || r.MatchingCost <= 0 {
				t.Errorf("%s: record %+v", model, r)
			}
			if slices.Min(r.Reconstruction) < 0 || slices.Max(r.Reconstruction) > 1 {
				t.Errorf("%s: reconstruction outside [0, 1]: %v", model, r.Reconstruction)
			}
		}
		plain := cfg
		plain.Normalize = nil
		other, err := Run(plain, trainSet, testSet, nil)
		if err != nil {
			t.Fatal(err)
		}
		if other.Records[0].BestObjective == res.Records[0].BestObjective || reflect.DeepEqual(other.Records[0].MSE, res.Records[0].MSE) {
			t.Errorf("%s: the normalisation did not change the attack: objective %g vs %g", model, other.Records[0].BestObjective, res.Records[0].BestObjective)
		}
	}
}

// TestExperimentIDLG runs the tiny experiment with iDLG labels: every record carries its inferred labels,
// single images' labels are recovered at step 0 (an untrained victim), and the summary and table report
// the fraction (known labels show "–").
func TestExperimentIDLG(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Labels = LabelsIDLG
	cfg.Observations = []Observation{ObserveUpdate}
	var log bytes.Buffer
	res, err := Run(cfg, synthetic("train", 200, 1), synthetic("test", 60, 2), &log)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Records {
		if len(r.InferredLabels) != r.BatchSize || r.LabelsCorrect == nil ||
			*r.LabelsCorrect != LabelsCorrect(r.Labels, r.InferredLabels) {
			t.Fatalf("record %+v", r)
		}
		if r.BatchSize == 1 && r.Step == 0 && *r.LabelsCorrect != 1 {
			t.Errorf("%s step 0: inferred %v for %v", r.Variant, r.InferredLabels, r.Labels)
		}
	}
	if !strings.Contains(log.String(), "iDLG labels") {
		t.Errorf("log:\n%s", log.String())
	}
	for _, s := range Summarize(res) {
		if math.IsNaN(s.LabelsCorrect) || s.LabelsCorrect < 0 || s.LabelsCorrect > 1 {
			t.Errorf("summary %+v", s)
		}
	}
	md := MarkdownReport(res, nil)
	if !strings.Contains(md, "labels inferred by iDLG") || !strings.Contains(md, "| update | 0 | 1 | baseline |") {
		t.Errorf("report:\n%s", md)
	}
	for _, s := range Summarize(tinyResult(t)) {
		if !math.IsNaN(s.LabelsCorrect) {
			t.Errorf("known labels: labels correct %g, want NaN", s.LabelsCorrect)
		}
	}
}

// TestExperimentDesignFields: the default design's folder holds none of the new fields (so folders of
// earlier versions still resume), and a different normalisation, label mode or stage widths in the same
// folder is refused.
func TestExperimentDesignFields(t *testing.T) {
	trainSet, testSet := synthetic("train", 200, 1), synthetic("test", 60, 2)
	cfg := tinyExperiment()
	cfg.Seeds, cfg.Variants, cfg.Snapshots, cfg.BatchSizes, cfg.Attack.Iterations = 1, nil, []int{0}, []int{1}, 2
	cfg.ResultsDir = t.TempDir()
	if _, err := Run(cfg, trainSet, testSet, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(cfg.ResultsDir, "attack-runs", "design.json"))
	if err != nil {
		t.Fatal(err)
	}
	var design map[string]any
	if err := json.Unmarshal(raw, &design); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"labels", "normalize", "stage_widths", "protocol"} {
		if _, ok := design[key]; ok {
			t.Errorf("the default design holds %q:\n%s", key, raw)
		}
	}
	norm := experiments.MNISTNormalization
	for key, change := range map[string]func(c *ExperimentConfig){
		"labels":       func(c *ExperimentConfig) { c.Labels = LabelsIDLG },
		"normalize":    func(c *ExperimentConfig) { c.Normalize = &norm },
		"stage_widths": func(c *ExperimentConfig) { c.Model, c.Width, c.StageWidths = "resnet20", 0, []int{2, 2, 2} },
	} {
		c := cfg
		change(&c)
		if _, err := Run(c, trainSet, testSet, nil); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("changed %s: %v", key, err)
		}
	}
}
