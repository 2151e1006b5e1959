package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bio-transformations/go-bio/experiments"
)

// buildBiotrain compiles this command into a temporary folder, for the tests that kill real processes.
func buildBiotrain(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the command and kills real processes")
	}
	bin := filepath.Join(t.TempDir(), "biotrain")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// processRun is one `biotrain train` process of the kill tests.
type processRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

func startTrain(t *testing.T, bin string, args ...string) *processRun {
	p := &processRun{cmd: exec.Command(bin, append([]string{"train"}, args...)...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.Env = append(os.Environ(), "GOMLX_BACKEND=go")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// exitCode waits for the process and returns its exit status (-1 when killed by a signal).
func (p *processRun) exitCode() int {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

// waitForCheckpoint waits until dir holds at least one checkpoint newer than step `after`.
func waitForCheckpoint(t *testing.T, dir string, after int) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
		for _, m := range matches {
			var step int
			if i := strings.LastIndex(m, "-step-"); i >= 0 {
				_, _ = fmt.Sscanf(m[i+6:], "%d", &step)
			}
			if step > after {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no checkpoint after step %d in %s", after, dir)
}

// halfSaved returns 1 when dir holds a checkpoint data file without its metadata file: the process was
// killed in the middle of a save.
func halfSaved(dir string) int {
	bins, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.bin"))
	for _, b := range bins {
		if _, err := os.Stat(strings.TrimSuffix(b, ".bin") + ".json"); err != nil {
			return 1
		}
	}
	return 0
}

// cutNewestMetadata truncates the newest checkpoint's metadata file to half its length.
func cutNewestMetadata(t *testing.T, dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
	if len(matches) < 2 {
		t.Fatalf("want 2 checkpoints to damage the newest, found %v", matches)
	}
	newest := matches[len(matches)-1]
	info, err := os.Stat(newest)
	if err == nil {
		err = os.Truncate(newest, info.Size()/2)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func readResult(t *testing.T, path string) experiments.RunResult {
	var res experiments.RunResult
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		t.Fatalf("result %s: %v", path, err)
	}
	return res
}

// deref returns *p, or NaN for nil.
func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// sameCurves compares every reported number of two runs' learning curves (all but the wall times).
func sameCurves(t *testing.T, name string, got, want experiments.RunResult) {
	if len(got.Curve) != len(want.Curve) || got.Steps != want.Steps || got.FinalLoss != want.FinalLoss ||
		got.FinalAccuracy != want.FinalAccuracy {
		t.Fatalf("%s: %d evaluations, %d steps, final %v/%v; uninterrupted: %d, %d, %v/%v", name, len(got.Curve), got.Steps,
			got.FinalAccuracy, got.FinalLoss, len(want.Curve), want.Steps, want.FinalAccuracy, want.FinalLoss)
	}
	for i, p := range want.Curve {
		q := got.Curve[i]
		p.Seconds, q.Seconds = 0, 0
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: evaluation %d: %+v (train accuracy %v), uninterrupted %+v (%v)", name, i, q, deref(q.TrainAccuracy), p, deref(p.TrainAccuracy))
		}
	}
}

// TestKillAndResume runs `biotrain train` as a real process and stops it in the ways a long run gets
// stopped: SIGKILL mid-epoch (several times, at random moments; with a checkpoint every step many of them
// land inside a save), SIGINT and SIGTERM (which save and exit with 130 and 143). Each time the run is
// resumed with -resume until it finishes, and every number it reports must equal the uninterrupted run's.
func TestKillAndResume(t *testing.T) {
	bin := buildBiotrain(t)
	data := writeFakeMNIST(t, 1200, 200)
	common := []string{"-data", data, "-width", "16", "-lr", "0.3", "-batch", "20", "-epochs", "3", "-eval-every", "7",
		"-progress=false", "-fuzzy_learning_rate_factor_nu", "0.09", "-volume_dependent_lr"}
	refOut := filepath.Join(t.TempDir(), "ref.json")
	ref := startTrain(t, bin, append(common, "-out", refOut)...)
	if code := ref.exitCode(); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, ref.stderr.String())
	}
	want := readResult(t, refOut)
	for _, tc := range []struct {
		name     string
		sig      syscall.Signal
		stops    int
		wantCode int
	}{
		{"SIGKILL", syscall.SIGKILL, 8, -1},
		{"SIGINT", syscall.SIGINT, 2, 130},
		{"SIGTERM", syscall.SIGTERM, 1, 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ck")
			out := filepath.Join(t.TempDir(), "out.json")
			args := append(common, "-checkpoint", dir, "-save-steps", "1", "-keep", "2", "-out", out)
			setAside, inSave := 0, 0
			for i := range tc.stops {
				run := args
				if i > 0 {
					run = append(args, "-resume")
				}
				p := startTrain(t, bin, run...)
				// The first stop waits for a second save to begin, so that the first is complete: a kill
				// inside the first save leaves no intact checkpoint, and resuming is then an error by design.
				after := 0
				if i == 0 {
					after = 1
				}
				waitForCheckpoint(t, dir, after)
				time.Sleep(time.Duration(3+17*i) * time.Millisecond)
				_ = p.cmd.Process.Signal(tc.sig)
				code := p.exitCode()
				if code != tc.wantCode && code != 0 {
					t.Fatalf("stop %d: exit %d, want %d\n%s", i, code, tc.wantCode, p.stderr.String())
				}
				if tc.wantCode > 0 && code == tc.wantCode && !strings.Contains(p.stderr.String(), "-resume") {
					t.Errorf("stop %d: stderr does not say how to resume:\n%s", i, p.stderr.String())
				}
				setAside += strings.Count(p.stdout.String()+p.stderr.String(), "set aside")
				for _, line := range strings.Split(p.stdout.String(), "\n") {
					if strings.Contains(line, "set aside") {
						t.Log(line)
					}
				}
				inSave += halfSaved(dir)
				if tc.sig == syscall.SIGKILL && i == 3 {
					cutNewestMetadata(t, dir) // what a kill while GoMLX writes the metadata file leaves
				}
			}
			p := startTrain(t, bin, append(args, "-resume")...)
			if code := p.exitCode(); code != 0 {
				t.Fatalf("final resume: exit %d\n%s", code, p.stderr.String())
			}
			setAside += strings.Count(p.stdout.String()+p.stderr.String(), "set aside")
			for _, line := range strings.Split(p.stdout.String(), "\n") {
				if strings.Contains(line, "set aside") {
					t.Log(line)
				}
			}
			got := readResult(t, out)
			if got.ResumedFrom == 0 {
				t.Errorf("the final run did not resume")
			}
			sameCurves(t, tc.name, got, want)
			if tc.sig == syscall.SIGKILL && setAside == 0 {
				t.Errorf("the checkpoint cut short was not set aside")
			}
			t.Logf("%s: %d stops, resumed last from step %d of %d; data file without metadata left: %d; damaged checkpoints set aside: %d (one cut by the test)",
				tc.name, tc.stops, got.ResumedFrom, got.Steps, inSave, setAside)
		})
	}
}

// TestKillCompareAndRerun kills a real `biotrain compare` after its first finished run and re-runs it with
// the same -out: the kept runs are not redone, and the summary (every column but the step timings) equals
// the uninterrupted comparison's.
func TestKillCompareAndRerun(t *testing.T) {
	bin := buildBiotrain(t)
	data := writeFakeMNIST(t, 600, 100)
	args := []string{"compare", "-data", data, "-width", "8", "-seeds", "2", "-epochs", "2", "-lr", "0.3", "-batch", "20",
		"-variants", "fuzzy,rejuvenation", "-eval-every", "5", "-parallel", "1"}
	summary := func(out string) string {
		f, err := os.Open(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var res experiments.CompareResult
		if err := json.NewDecoder(f).Decode(&res); err != nil {
			t.Fatal(err)
		}
		ss := experiments.Summarize(&res)
		for i := range ss {
			ss[i].MedianStepMs = 0
		}
		return experiments.MarkdownTable(ss)
	}
	start := func(out string) *processRun {
		p := &processRun{cmd: exec.Command(bin, append(args, "-out", out)...)}
		p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if p := start(ref); p.exitCode() != 0 {
		t.Fatalf("uninterrupted compare failed:\n%s", p.stderr.String())
	}
	out := filepath.Join(t.TempDir(), "out")
	p := start(out)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if runs, _ := filepath.Glob(filepath.Join(out, "compare-runs", "*-seed*.json")); len(runs) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	_ = p.cmd.Process.Kill()
	_ = p.exitCode()
	kept, _ := filepath.Glob(filepath.Join(out, "compare-runs", "*-seed*.json"))
	p = start(out)
	if code := p.exitCode(); code != 0 {
		t.Fatalf("re-run: exit %d\n%s", code, p.stderr.String())
	}
	if n := strings.Count(p.stdout.String(), "kept from an earlier"); n != len(kept) || n == 0 || n == 6 {
		t.Errorf("re-run kept %d runs; %d were written before the kill", n, len(kept))
	}
	if a, b := summary(out), summary(ref); a != b {
		t.Errorf("re-run table\n%s\nuninterrupted\n%s", a, b)
	}
	// Another design under the same -out is refused, naming the changed field.
	p = &processRun{cmd: exec.Command(bin, append(args, "-out", out, "-lr", "0.2")...)}
	p.cmd.Stderr = &p.stderr
	_ = p.cmd.Start()
	if code := p.exitCode(); code != 2 || !strings.Contains(p.stderr.String(), "another design (lr differ)") {
		t.Errorf("changed design: exit %d, %s", code, p.stderr.String())
	}
	t.Logf("killed after %d of 6 runs; the re-run kept them and ran the rest", len(kept))
}
