package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/experiments"
	"github.com/bio-transformations/go-bio/experiments/inversion"
)

func TestParseAttackFlags(t *testing.T) {
	o, err := parseAttack([]string{"-steps", "0,50", "-batch-sizes", "2,8", "-observe", "update", "-variants", "Γ2", "-iterations", "10"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if len(c.Snapshots) != 2 || c.Snapshots[1] != 50 || c.BatchSizes[1] != 8 || len(c.Observations) != 1 ||
		c.Observations[0] != "update" || c.Variants[0] != "Γ2" || c.Attack.Iterations != 10 || o.out != "out/attack" {
		t.Errorf("parsed %+v", o)
	}
	full, err := parseAttack([]string{"-full"}, &bytes.Buffer{})
	if err != nil || full.cfg.Width != 1000 || full.cfg.Attack.Iterations != 7000 || full.out != "out/attack-full" {
		t.Errorf("-full: %+v, %v", full, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-steps", "0,x"}, "comma-separated list of integers"},
		{[]string{"-steps", "300,0"}, "snapshots"},
		{[]string{"-variants", "nope"}, "unknown variant"},
		{[]string{"-observe", "weights"}, "observe"},
		{[]string{"-iterations", "0"}, "iterations"},
		{[]string{"-test-set"}, "-test-set does not apply"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		if _, err := parseAttack(tc.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestAttackCommand runs a tiny attack experiment on fabricated 4×4 MNIST files, then rewrites its report
// from the JSON.
func TestAttackCommand(t *testing.T) {
	data := writeFakeMNIST(t, 200, 60)
	outDir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	err := run([]string{"attack", "-data", data, "-width", "8", "-seeds", "1", "-steps", "0,3", "-batch-sizes", "2",
		"-batches", "1", "-iterations", "20", "-lr", "0.3", "-batch", "20", "-eval-size", "20", "-variants", "Γ2",
		"-out", outDir}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	s := stdout.String()
	var rows []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "| gradient") || strings.HasPrefix(l, "| update") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 8 || !strings.HasPrefix(rows[0], "| gradient | 0 | 2 | baseline |") || !strings.HasPrefix(rows[1], "| gradient | 0 | 2 | Γ2 |") {
		t.Errorf("table rows %q in:\n%s", rows, s)
	}
	pic := filepath.Join(outDir, "reconstructions_gradient_step3.png")
	if !strings.Contains(s, pic) {
		t.Errorf("picture path not printed:\n%s", s)
	}
	f, err := os.Open(pic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Error(err)
	}
	_ = f.Close()
	again := filepath.Join(t.TempDir(), "again")
	stdout.Reset()
	if err := run([]string{"attack", "-report", filepath.Join(outDir, "attack.json"), "-out", again}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(outDir, "attack.md"))
	b, _ := os.ReadFile(filepath.Join(again, "attack.md"))
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("the report rewritten from attack.json differs:\n%s\n---\n%s", a, b)
	}
}

func TestAttackProtocolFlag(t *testing.T) {
	tests := []flagCase[*attackOptions]{
		{"ours by default", nil, func(t *testing.T, o *attackOptions) {
			c := o.cfg
			if c.Protocol != "" || c.Normalize != nil || c.StageWidths != nil || c.Labels != inversion.LabelsKnown ||
				c.LR != experiments.DefaultLR || c.Width != 100 || o.out != "out/attack" {
				t.Errorf("got %+v, out %q", c, o.out)
			}
		}, ""},
		{"paper", []string{"-protocol", "paper"}, func(t *testing.T, o *attackOptions) {
			c, a := o.cfg, o.cfg.Attack
			if c.Protocol != "paper" || c.Model != "fcnet" || c.Width != 0 || c.StageWidths != nil || c.LR != 1e-3 ||
				c.TrainBatchSize != 100 || c.Normalize == nil || *c.Normalize != experiments.MNISTNormalization ||
				c.Base.FuzzyLearningRateFactorNu != 0.09 || c.Base.RejuvenationParameterDre != 8 ||
				!slices.Equal(c.BatchSizes, []int{2, 4, 8}) || c.Batches != 5 || c.Seeds != 5 ||
				!slices.Equal(c.Snapshots, inversion.PaperSnapshots) || c.Labels != inversion.LabelsKnown ||
				!slices.Equal(c.Observations, []inversion.Observation{inversion.ObserveGradient}) ||
				!slices.Equal(c.Variants, inversion.DefaultVariants) || o.out != "out/attack-paper" || c.ResultsDir != o.out {
				t.Errorf("got %+v, out %q", c, o.out)
			}
			if !a.Signed || a.LearningRate != 0.1 || a.TotalVariation != 1e-6 || a.Iterations != 7000 {
				t.Errorf("attack %+v", a)
			}
		}, ""},
		{"paper resnet gets 6-12-24", []string{"-protocol", "paper", "-model", "resnet20"}, func(t *testing.T, o *attackOptions) {
			if !slices.Equal(o.cfg.StageWidths, []int{6, 12, 24}) || o.cfg.Width != 0 {
				t.Errorf("stage widths %v, width %d", o.cfg.StageWidths, o.cfg.Width)
			}
		}, ""},
		{"paper resnet with an explicit width", []string{"-protocol", "paper", "-model", "resnet20", "-width", "50"}, func(t *testing.T, o *attackOptions) {
			if o.cfg.StageWidths != nil || o.cfg.Width != 50 {
				t.Errorf("stage widths %v, width %d", o.cfg.StageWidths, o.cfg.Width)
			}
		}, ""},
		{"paper with overrides", []string{"-protocol", "paper", "-lr", "0.01", "-normalize=false", "-seeds", "1", "-steps", "0,600",
			"-batch-sizes", "2", "-iterations", "100", "-labels", "idlg", "-observe", "gradient,update", "-variants", "fuzzy",
			"-out", "elsewhere"}, func(t *testing.T, o *attackOptions) {
			c := o.cfg
			if c.LR != 0.01 || c.Normalize != nil || c.Seeds != 1 || !slices.Equal(c.Snapshots, []int{0, 600}) ||
				!slices.Equal(c.BatchSizes, []int{2}) || c.Attack.Iterations != 100 || c.Labels != inversion.LabelsIDLG ||
				len(c.Observations) != 2 || !slices.Equal(c.Variants, []string{"fuzzy"}) || c.Base.RejuvenationParameterDre != 8 ||
				c.TrainBatchSize != 100 || o.out != "elsewhere" {
				t.Errorf("got %+v, out %q", c, o.out)
			}
		}, ""},
		{"ours normalised with idlg", []string{"-normalize", "-labels", "idlg"}, func(t *testing.T, o *attackOptions) {
			if o.cfg.Normalize == nil || *o.cfg.Normalize != experiments.MNISTNormalization || o.cfg.Labels != inversion.LabelsIDLG || o.cfg.Protocol != "" {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
		{"paper and full", []string{"-protocol", "paper", "-full"}, nil, "-protocol paper is a preset of its own"},
		{"unknown protocol", []string{"-protocol", "theirs"}, nil, `-protocol "theirs" is unknown (known: ours, paper)`},
		{"unknown labels", []string{"-labels", "dlg"}, nil, `-labels "dlg" is unknown (known: known, idlg)`},
		{"empty labels", []string{"-labels="}, nil, `-labels "" is unknown`},
		{"paper alexnetmini keeps the paper's size", []string{"-protocol", "paper", "-model", "alexnetmini"}, func(t *testing.T, o *attackOptions) {
			if o.cfg.StageWidths != nil || o.cfg.Model != "alexnetmini" {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
	}
	runFlagCases(t, parseAttack, tests)
	var stdout bytes.Buffer
	_, _ = parseAttack([]string{"-h"}, &stdout)
	for _, want := range []string{"steps 600,30600,60600,120600", "ResNets 6-12-24", `"idlg"`, "-normalize"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("-h lacks %q", want)
		}
	}
}

// TestAttackProtocolPaperRuns runs `biotrain attack -protocol paper` tiny on fabricated 4×4 MNIST files,
// FCNet with iDLG labels and ResNet-20 6-12-24, with explicit flags that override the preset's sizes.
func TestAttackProtocolPaperRuns(t *testing.T) {
	data := writeFakeMNIST(t, 200, 60)
	for _, model := range []string{"fcnet", "resnet20"} {
		outDir := filepath.Join(t.TempDir(), "out")
		args := []string{"attack", "-protocol", "paper", "-model", model, "-data", data, "-seeds", "1", "-steps", "0,2",
			"-batch-sizes", "2", "-batches", "1", "-iterations", "10", "-lr", "0.3", "-batch", "20", "-eval-size", "20",
			"-variants", "fuzzy", "-out", outDir, "-parallel", "1"}
		if model == "fcnet" {
			args = append(args, "-width", "8", "-labels", "idlg")
		}
		var stdout, stderr bytes.Buffer
		if err := run(args, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", model, err, stderr.String())
		}
		for _, want := range []string{"| gradient | 0 | 2 | baseline |", "| gradient | 2 | 2 | fuzzy |"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%s: the table lacks %q:\n%s", model, want, stdout.String())
			}
		}
		f, err := os.Open(filepath.Join(outDir, "attack.json"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := inversion.ReadJSON(f)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := res.Config
		wantWidths := []int{6, 12, 24}
		if model == "fcnet" {
			wantWidths = nil
		}
		if c.Protocol != "paper" || c.LR != 0.3 || c.Normalize == nil || c.Base.RejuvenationParameterDre != 8 ||
			!slices.Equal(c.StageWidths, wantWidths) || (c.Labels == inversion.LabelsIDLG) != (model == "fcnet") {
			t.Errorf("%s: design %+v", model, c)
		}
		md, _ := os.ReadFile(filepath.Join(outDir, "attack.md"))
		if !strings.Contains(string(md), "Protocol: paper") || !strings.Contains(string(md), "standardised in the model graph with mean 0.1307 and std 0.3081") {
			t.Errorf("%s: attack.md:\n%s", model, md)
		}
	}
}
