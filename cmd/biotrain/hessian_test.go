package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/experiments"
)

// TestHessianCommand trains a tiny run with a checkpoint, then measures its Hessian's extremes from it.
func TestHessianCommand(t *testing.T) {
	data := writeFakeMNIST(t, 200, 50)
	ck := filepath.Join(t.TempDir(), "ck")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"train", "-data", data, "-width", "6", "-lr", "0.3", "-batch", "20", "-epochs", "1", "-progress=false",
		"-checkpoint", ck, "-weight_splitting_Gamma", "2"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	stdout.Reset()
	if err := run([]string{"hessian", "-data", data, "-checkpoint", ck, "-batches", "2", "-batch", "10", "-iterations", "8"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, want := range []string{"largest eigenvalue", "smallest eigenvalue", "ratio min/max"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	var res experiments.HessianResult
	raw, err := os.ReadFile(filepath.Join(ck, "hessian.json"))
	if err != nil || json.Unmarshal(raw, &res) != nil {
		t.Fatalf("hessian.json: %v", err)
	}
	if res.Run.Bio == nil || res.Run.Bio.WeightSplittingGamma != 2 || res.Examples != 20 || res.Iterations != 8 ||
		!(res.Min <= res.Max) || math.IsNaN(res.Ratio) || res.Params != 4*4*6+6+6*10+10 {
		t.Errorf("result %+v", res)
	}
}

func TestHessianFlags(t *testing.T) {
	ck := t.TempDir()
	_ = os.WriteFile(filepath.Join(ck, "run.json"), []byte(`{"run": {"variant": "v", "model": "fcnet", "width": 8, "epochs": 1, "lr": 0.1, "batch_size": 10}}`), 0o644)
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-batches", "0"}, "batches=0"},
		{[]string{"-iterations", "-1"}, "iterations=-1"},
		{[]string{"-checkpoint", ck, "-width", "9"}, "-width 9 differs from the checkpoint's width 8"},
		{[]string{"-checkpoint", ck, "-model", "resnet20"}, `-model "resnet20" differs`},
		{[]string{"-checkpoint", filepath.Join(ck, "none")}, "cannot be read"},
	} {
		if _, err := parseHessian(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: got %v, want an error with %q", tc.args, err, tc.wantErr)
		}
	}
	o, err := parseHessian([]string{"-checkpoint", ck}, io.Discard)
	if err != nil || o.run.Width != 8 || o.out != filepath.Join(ck, "hessian.json") {
		t.Errorf("got %+v, %v", o, err)
	}
}

// TestHessianModels measures every run a comparison kept with -keep-models, summarises them per variant,
// and keeps earlier measurements made with the same settings.
func TestHessianModels(t *testing.T) {
	data := writeFakeMNIST(t, 200, 50)
	out := filepath.Join(t.TempDir(), "cmp")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"compare", "-data", data, "-width", "6", "-seeds", "2", "-epochs", "1", "-lr", "0.3", "-batch", "20",
		"-variants", "fuzzy", "-out", out, "-parallel", "1", "-keep-models"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	models := filepath.Join(out, experiments.ModelsDir)
	args := []string{"hessian", "-data", data, "-models", models, "-batches", "1", "-batch", "10", "-iterations", "6"}
	stdout.Reset()
	if err := run(args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(out, "hessian.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| baseline | 2 |", "| fuzzy | 2 |", "| fuzzy | 1 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("hessian.md lacks %q:\n%s", want, md)
		}
	}
	var sum struct {
		Summaries []experiments.HessianSummary `json:"summaries"`
		Runs      []*experiments.HessianResult `json:"runs"`
	}
	raw, _ := os.ReadFile(filepath.Join(out, "hessian.json"))
	if err := json.Unmarshal(raw, &sum); err != nil || len(sum.Runs) != 4 || len(sum.Summaries) != 2 || sum.Summaries[0].Variant != "baseline" {
		t.Fatalf("hessian.json: %v, %+v", err, sum.Summaries)
	}
	if r := sum.Runs[0]; r.Examples != 10 || r.Iterations != 6 || !(r.Min <= r.Max) {
		t.Errorf("first run %+v", r)
	}
	// Again with the same settings: every run is kept; with other settings they are measured again.
	stdout.Reset()
	if err := run(args, &stdout, &stderr); err != nil || strings.Count(stdout.String(), " kept (") != 4 {
		t.Errorf("second call: %v\n%s", err, stdout.String())
	}
	stdout.Reset()
	args[len(args)-1] = "5"
	if err := run(args, &stdout, &stderr); err != nil || strings.Contains(stdout.String(), " kept (") {
		t.Errorf("other settings: %v\n%s", err, stdout.String())
	}
	if _, err := parseHessian([]string{"-models", models, "-checkpoint", models}, io.Discard); err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Errorf("-models with -checkpoint: %v", err)
	}
	if err := run([]string{"hessian", "-data", data, "-models", t.TempDir()}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "holds no run folder") {
		t.Errorf("empty -models: %v", err)
	}
}
