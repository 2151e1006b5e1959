package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
