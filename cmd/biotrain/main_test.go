package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/experiments"
)

func TestParseTrainFlags(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "bio.json")
	if err := os.WriteFile(cfgFile, []byte(`{"fuzzy_learning_rate_factor_nu": 0.05, "rejuvenation_parameter_dre": 20, "crystallize": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badFile, []byte(`{"fuzzy_nu": 1}`), 0o644)
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o *trainOptions)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, o *trainOptions) {
			want := bio.DefaultConfig()
			want.Seed = 0
			if o.run.Bio == nil || *o.run.Bio != want || o.run.Epochs != 10 || o.run.LR != experiments.DefaultLR || o.run.BatchSize != 100 ||
				o.run.Width != 1000 || o.lowMemory {
				t.Errorf("got %+v / %+v", o.run, o.run.Bio)
			}
		}, ""},
		{"bio flags", []string{"-fuzzy_learning_rate_factor_nu", "0.09", "-rejuvenate_weights=false", "-crystallize",
			"-weight_splitting_Gamma", "2", "-fuzzy_lr_distribution", "lognormal", "-seed", "7"}, func(t *testing.T, o *trainOptions) {
			c := o.run.Bio
			if c.FuzzyLearningRateFactorNu != 0.09 || c.RejuvenateWeights || !c.Crystallize || c.WeightSplittingGamma != 2 ||
				c.FuzzyLRDistribution != bio.LogNormal || c.Seed != 7 || o.run.Seed != 7 {
				t.Errorf("got %+v", c)
			}
		}, ""},
		{"low memory", []string{"-low-memory"}, func(t *testing.T, o *trainOptions) {
			if !o.lowMemory {
				t.Errorf("-low-memory not set")
			}
		}, ""},
		{"config file then flags", []string{"-config", cfgFile, "-rejuvenation_parameter_dre", "30"}, func(t *testing.T, o *trainOptions) {
			c := o.run.Bio
			if c.FuzzyLearningRateFactorNu != 0.05 || c.RejuvenationParameterDre != 30 || !c.Crystallize {
				t.Errorf("got %+v", c)
			}
		}, ""},
		{"set", []string{"-set", "bio_fuzzy_learning_rate_factor_nu=0.2;bio_scale_grad=true"}, func(t *testing.T, o *trainOptions) {
			if o.run.Bio.FuzzyLearningRateFactorNu != 0.2 || !o.run.Bio.ScaleGrad {
				t.Errorf("got %+v", o.run.Bio)
			}
		}, ""},
		{"baseline", []string{"-baseline", "-epochs", "3", "-lr", "0.1", "-width", "50", "-test-set", "-train-size", "500"},
			func(t *testing.T, o *trainOptions) {
				if o.run.Bio != nil || o.run.Variant != experiments.BaselineName || o.run.Epochs != 3 || o.run.LR != 0.1 ||
					o.run.Width != 50 || !o.split.TestSet || o.split.TrainSize != 500 {
					t.Errorf("got %+v %+v", o.run, o.split)
				}
			}, ""},
		{"bad number", []string{"-fuzzy_learning_rate_factor_nu", "abc"}, nil, "-fuzzy_learning_rate_factor_nu"},
		{"bad bool", []string{"-crystallize=maybe"}, nil, "-crystallize"},
		{"bad int", []string{"-weight_splitting_Gamma", "1.5"}, nil, "-weight_splitting_Gamma"},
		{"out of range", []string{"-dampening_factor", "1.5"}, nil, "dampening_factor"},
		{"bad distribution", []string{"-fuzzy_lr_distribution", "zipf"}, nil, "fuzzy_lr_distribution"},
		{"unknown flag", []string{"-fuzzy_nu", "0.1"}, nil, "fuzzy_nu"},
		{"bad config key", []string{"-config", badFile}, nil, "fuzzy_nu"},
		{"missing config", []string{"-config", filepath.Join(dir, "nope.json")}, nil, "nope.json"},
		{"bad set", []string{"-set", "bio_nope=1"}, nil, "bio_nope"},
		{"bad epochs", []string{"-epochs", "0"}, nil, "epochs=0"},
		{"bad lr", []string{"-lr", "-0.1"}, nil, "lr=-0.1"},
		{"baseline with bio flag", []string{"-baseline", "-crystallize"}, nil, "-baseline"},
		{"resume without checkpoint", []string{"-resume"}, nil, "-checkpoint"},
		{"extra argument", []string{"oops"}, nil, "oops"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseTrain(tc.args, io.Discard, &stderr)
			if tc.wantErr != "" {
				msg := ""
				if err != nil {
					msg = err.Error() + stderr.String()
				}
				if err == nil || !strings.Contains(msg, tc.wantErr) {
					t.Fatalf("got %v (stderr %q), want an error naming %q", err, stderr.String(), tc.wantErr)
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

// TestEveryConfigKeyIsAFlag: the train command has a flag for every bio config key but the seed (-seed sets
// it), with the library's default, and -h states the difference between the two default seeds.
func TestEveryConfigKeyIsAFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	addBioFlags(fs, bio.DefaultConfig())
	defaults := bio.DefaultConfig().ToMap()
	for _, key := range bio.ConfigKeys() {
		f := fs.Lookup(key)
		if key == "seed" {
			if f != nil {
				t.Error("the bio seed is a flag; -seed should set it")
			}
			continue
		}
		if f == nil {
			t.Errorf("no flag for %q", key)
			continue
		}
		if want := fmt.Sprint(defaults[key]); f.DefValue != want {
			t.Errorf("-%s default %q, want %q", key, f.DefValue, want)
		}
	}
	var stdout bytes.Buffer
	_, _ = parseTrain([]string{"-h"}, &stdout, io.Discard)
	if !strings.Contains(stdout.String(), "bio.DefaultConfig().Seed is 42") {
		t.Error("-h does not state the library's default seed")
	}
}

func TestParseCompareFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o *compareOptions)
		wantErr string
	}{
		{"default", nil, func(t *testing.T, o *compareOptions) {
			if o.cfg.Width != 1000 || o.cfg.Seeds != 5 || o.cfg.Epochs != 10 || o.out != "out/compare" || o.lowMemory {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
		{"demo", []string{"-demo"}, func(t *testing.T, o *compareOptions) {
			want := experiments.DemoCompareConfig()
			if o.cfg.Width != want.Width || o.cfg.Seeds != want.Seeds || o.cfg.Split.TrainSize != want.Split.TrainSize ||
				o.cfg.LR != want.LR || o.out != "out/demo" {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
		{"demo with overrides", []string{"-demo", "-seeds", "3", "-out", "x", "-parallel", "1", "-variants", "fuzzy,dale",
			"-fuzzy_learning_rate_factor_nu", "0.2"}, func(t *testing.T, o *compareOptions) {
			if o.cfg.Seeds != 3 || o.cfg.Width != 100 || o.out != "x" || o.cfg.Parallel != 1 || len(o.cfg.Variants) != 2 ||
				o.cfg.Base.FuzzyLearningRateFactorNu != 0.2 {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
		{"low memory", []string{"-demo", "-low-memory"}, func(t *testing.T, o *compareOptions) {
			if !o.lowMemory || o.cfg.Width != 100 {
				t.Errorf("got lowMemory %v, %+v", o.lowMemory, o.cfg)
			}
		}, ""},
		{"full", []string{"-full"}, func(t *testing.T, o *compareOptions) {
			if o.cfg.Epochs != 200 || o.cfg.LR != 1e-3 || o.cfg.Width != 1000 || o.cfg.Seeds != 5 || o.cfg.Split.TrainSize != 0 ||
				o.cfg.Base.FuzzyLearningRateFactorNu != 0.09 || o.cfg.Base.RejuvenationParameterDre != 14 {
				t.Errorf("got %+v", o.cfg)
			}
		}, ""},
		{"both presets", []string{"-demo", "-full"}, nil, "exclusive"},
		{"bad seeds", []string{"-seeds", "0"}, nil, "seeds=0"},
		{"bad seeds syntax", []string{"-seeds", "two"}, nil, "-seeds"},
		{"bad variant", []string{"-variants", "fuzzy,nope"}, nil, `"nope"`},
		{"bad bio", []string{"-crystal_thresh", "-1"}, nil, "crystal_thresh"},
		{"design switch refused", []string{"-crystallize"}, nil, "crystallize: the design switches"},
		{"design Γ refused", []string{"-set", "bio_weight_splitting_Gamma=4"}, nil, "weight_splitting_Gamma"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseCompare(tc.args, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.wantErr) {
					t.Fatalf("got %v, want an error naming %q", err, tc.wantErr)
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

// writeFakeMNIST writes a small learnable MNIST-format folder: 4x4 images, class c lights pixel c.
func writeFakeMNIST(t *testing.T, nTrain, nTest int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string, magic []byte, dims []int, payload []byte) {
		var b bytes.Buffer
		b.Write(magic)
		for _, d := range dims {
			_ = binary.Write(&b, binary.BigEndian, uint32(d))
		}
		b.Write(payload)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, set := range []struct {
		img, lab string
		n        int
	}{{idx.TrainImagesFile, idx.TrainLabelsFile, nTrain}, {idx.TestImagesFile, idx.TestLabelsFile, nTest}} {
		imgs, labels := make([]byte, set.n*16), make([]byte, set.n)
		for i := range labels {
			c := rng.IntN(10)
			labels[i] = byte(c)
			for j := 0; j < 16; j++ {
				imgs[i*16+j] = byte(rng.IntN(50))
			}
			imgs[i*16+c] = 200 + byte(rng.IntN(55))
		}
		write(set.img, []byte{0, 0, 8, 3}, []int{set.n, 4, 4}, imgs)
		write(set.lab, []byte{0, 0, 8, 1}, []int{set.n}, labels)
	}
	return dir
}

func TestResumeWithoutRunConfig(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseTrain([]string{"-resume", "-checkpoint", t.TempDir()}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "run.json") {
		t.Fatalf("got %v, want an error naming run.json", err)
	}
}

func TestTrainCommandCheckpointResume(t *testing.T) {
	data := writeFakeMNIST(t, 400, 100)
	ck := filepath.Join(t.TempDir(), "ck")
	out := filepath.Join(t.TempDir(), "r.json")
	common := []string{"train", "-data", data, "-width", "8", "-lr", "0.3", "-batch", "20", "-progress=false", "-checkpoint", ck,
		"-fuzzy_learning_rate_factor_nu", "0.09"}
	var stdout, stderr bytes.Buffer
	if err := run(append(common, "-epochs", "1"), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "final validation accuracy") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	// A second fresh run into the same folder is refused.
	if err := run(append(common, "-epochs", "1"), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "-resume") {
		t.Fatalf("reusing the folder: %v", err)
	}
	stdout.Reset()
	if err := run(append(common, "-epochs", "2", "-resume", "-out", out), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "resumed from step 22") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	var res experiments.RunResult
	data2, _ := os.ReadFile(out)
	if err := json.Unmarshal(data2, &res); err != nil || res.Steps != 44 || res.ResumedFrom != 22 || res.Config.Bio.FuzzyLearningRateFactorNu != 0.09 {
		t.Errorf("result %s: %+v, %v", out, res, err)
	}
}

func TestCompareCommand(t *testing.T) {
	data := writeFakeMNIST(t, 300, 100)
	outDir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	err := run([]string{"compare", "-data", data, "-width", "8", "-seeds", "2", "-epochs", "1", "-lr", "0.3", "-batch", "20",
		"-variants", "fuzzy", "-eval-every", "5", "-out", outDir, "-parallel", "2"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	s := stdout.String()
	lines := strings.Split(s, "\n")
	var rows []string
	for _, l := range lines {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| variant") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "| baseline |") || !strings.HasPrefix(rows[1], "| fuzzy |") {
		t.Errorf("table rows %q in:\n%s", rows, s)
	}
	plot := filepath.Join(outDir, "learning_curves.png")
	if !strings.Contains(s, "plot: "+plot) {
		t.Errorf("plot path not printed:\n%s", s)
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("plot: %v", err)
	}
}

func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(nil, &stdout, &stderr); err == nil {
		t.Error("no command should fail")
	}
	if err := run([]string{"fly"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), `"fly"`) {
		t.Errorf("unknown command: %v", err)
	}
	for _, cmd := range []string{"train", "compare", "attack"} {
		stdout.Reset()
		stderr.Reset()
		if err := run([]string{cmd, "-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) ||
			!strings.Contains(stdout.String(), "usage: biotrain "+cmd) || stderr.Len() > 0 {
			t.Errorf("%s -h: %v\nstdout %s\nstderr %s", cmd, err, stdout.String(), stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "-iterations") {
		t.Errorf("attack -h lists no flags:\n%s", stdout.String())
	}
	// One prefix per error, and the flag package prints nothing itself.
	for _, args := range [][]string{{"train", "-epochs", "0"}, {"train", "-dampening_factor", "x"}, {"compare", "-demo", "-full"},
		{"attack", "-steps", "x"}, {"train", "extra"}} {
		stderr.Reset()
		err := run(args, &stdout, &stderr)
		if err == nil || !strings.HasPrefix(err.Error(), "biotrain "+args[0]+": ") ||
			strings.Count(err.Error(), "biotrain") != 1 || stderr.Len() > 0 {
			t.Errorf("%v: error %v, stderr %q: want one \"biotrain %s:\" prefix and a quiet stderr", args, err, stderr.String(), args[0])
		}
	}
	stderr.Reset()
	if err := run([]string{"train", "-data", t.TempDir(), "-progress=false"}, &stdout, &stderr); err == nil ||
		!strings.Contains(err.Error(), idx.TrainImagesFile) {
		t.Errorf("missing data: %v", err)
	}
}
