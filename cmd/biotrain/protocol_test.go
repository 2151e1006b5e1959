package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/experiments"
)

func TestCompareProtocolFlag(t *testing.T) {
	tests := []flagCase[*compareOptions]{
		{"ours by default", nil, func(t *testing.T, o *compareOptions) {
			if o.cfg.Protocol != "" || o.cfg.Normalize != nil || o.cfg.LR != experiments.DefaultLR || o.cfg.StageWidths != nil {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
		{"paper", []string{"-protocol", "paper"}, func(t *testing.T, o *compareOptions) {
			c := o.cfg
			vs, _ := c.SelectedVariants()
			if c.Protocol != "paper" || c.LR != 1e-3 || c.BatchSize != 100 || c.Epochs != 200 || c.Seeds != 5 || c.FirstSeed != 0 ||
				c.Width != 0 || c.Normalize == nil || *c.Normalize != experiments.MNISTNormalization || c.Split.ValFraction != 0.1 ||
				c.Split.TrainSize != 0 || c.Base.FuzzyLearningRateFactorNu != 0.09 || c.Base.RejuvenationParameterDre != 14 ||
				len(vs) != 9 || o.out != "out/paper" {
				t.Errorf("got %+v, %d variants, out %q", c, len(vs), o.out)
			}
		}, ""},
		{"paper resnet gets 6-12-24", []string{"-protocol", "paper", "-model", "resnet20"}, func(t *testing.T, o *compareOptions) {
			if !slices.Equal(o.cfg.StageWidths, []int{6, 12, 24}) {
				t.Errorf("stage widths %v", o.cfg.StageWidths)
			}
		}, ""},
		{"paper resnet with an explicit width", []string{"-protocol", "paper", "-model", "resnet20", "-width", "50"}, func(t *testing.T, o *compareOptions) {
			if o.cfg.StageWidths != nil || o.cfg.Width != 50 {
				t.Errorf("stage widths %v, width %d", o.cfg.StageWidths, o.cfg.Width)
			}
		}, ""},
		{"paper with overrides", []string{"-protocol", "paper", "-epochs", "5", "-lr", "0.01", "-normalize=false", "-seeds", "2",
			"-variants", experiments.SplitStepControlName}, func(t *testing.T, o *compareOptions) {
			vs, _ := o.cfg.SelectedVariants()
			if o.cfg.Epochs != 5 || o.cfg.LR != 0.01 || o.cfg.Normalize != nil || o.cfg.Seeds != 2 || len(vs) != 2 || vs[1].SplitStepFactor != 0.5 {
				t.Errorf("got %+v, variants %+v", o.cfg, vs)
			}
		}, ""},
		{"keep models", []string{"-protocol", "paper", "-keep-models"}, func(t *testing.T, o *compareOptions) {
			if !o.cfg.KeepModels || o.cfg.ResultsDir != "out/paper" {
				t.Errorf("keep models %v, results dir %q", o.cfg.KeepModels, o.cfg.ResultsDir)
			}
		}, ""},
		{"paper and demo", []string{"-protocol", "paper", "-demo"}, nil, "-protocol paper is a preset of its own"},
		{"unknown protocol", []string{"-protocol", "theirs"}, nil, `-protocol "theirs" is unknown (known: ours, paper)`},
	}
	runFlagCases(t, parseCompare, tests)
}

func TestTrainProtocolFlag(t *testing.T) {
	tests := []flagCase[*trainOptions]{
		{"ours by default", nil, func(t *testing.T, o *trainOptions) {
			if o.run.Normalize != nil || o.run.LR != experiments.DefaultLR || o.run.Epochs != 10 || o.run.Width != 1000 {
				t.Errorf("got %+v", o.run)
			}
		}, ""},
		{"paper", []string{"-protocol", "paper", "-seed", "3"}, func(t *testing.T, o *trainOptions) {
			r, b := o.run, o.run.Bio
			want := experiments.PaperBioConfig()
			want.Seed = 3
			if r.LR != 1e-3 || r.BatchSize != 100 || r.Epochs != 200 || r.Width != 0 || r.Normalize == nil || *b != want {
				t.Errorf("got %+v / %s", r, b)
			}
		}, ""},
		{"paper with mechanisms and overrides", []string{"-protocol", "paper", "-model", "resnet32", "-weight_splitting_Gamma", "2",
			"-fuzzy_learning_rates", "-epochs", "3", "-normalize=false"}, func(t *testing.T, o *trainOptions) {
			r, b := o.run, o.run.Bio
			if r.Epochs != 3 || r.Normalize != nil || !slices.Equal(r.StageWidths, []int{6, 12, 24}) || b.WeightSplittingGamma != 2 ||
				!b.FuzzyLearningRates || b.RejuvenateWeights || b.FuzzyLearningRateFactorNu != 0.09 {
				t.Errorf("got %+v / %s", r, b)
			}
		}, ""},
		{"unknown protocol", []string{"-protocol", "x"}, nil, `-protocol "x" is unknown`},
	}
	runFlagCases(t, func(args []string, w io.Writer) (*trainOptions, error) { return parseTrain(args, w, io.Discard) }, tests)
	var stdout bytes.Buffer
	_, _ = parseTrain([]string{"-h"}, &stdout, io.Discard)
	if !strings.Contains(stdout.String(), "ShuffleSplit(5, test_size=0.1, random_state=0)") {
		t.Error("-h does not document -protocol paper")
	}
}

// TestCompareProtocolPaperRuns runs the paper's protocol end to end on a small fake MNIST: the baseline and
// the weight-splitting control, one split, one epoch, normalised inputs.
func TestCompareProtocolPaperRuns(t *testing.T) {
	data := writeFakeMNIST(t, 300, 100)
	var stdout, stderr bytes.Buffer
	err := run([]string{"compare", "-protocol", "paper", "-data", data, "-width", "8", "-seeds", "1", "-epochs", "1",
		"-lr", "0.3", "-batch", "20", "-variants", experiments.SplitStepControlName, "-out", t.TempDir(), "-parallel", "1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, want := range []string{"| baseline", "| " + experiments.SplitStepControlName} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the results table lacks the row %q:\n%s", want, stdout.String())
		}
	}
}

// flagCase is one case of a table-driven test of a command's flags: the parsed options pass check, or
// parsing fails with an error containing wantErr.
type flagCase[O any] struct {
	name    string
	args    []string
	check   func(t *testing.T, o O)
	wantErr string
}

// runFlagCases runs every case as a subtest, parsing its arguments with parse (help text discarded).
func runFlagCases[O any](t *testing.T, parse func(args []string, stdout io.Writer) (O, error), cases []flagCase[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parse(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}
