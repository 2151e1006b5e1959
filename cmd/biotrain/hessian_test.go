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
