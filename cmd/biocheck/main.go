// Command biocheck runs every bio mechanism on a chosen backend (e.g. XLA on a GPU) and on GoMLX's pure-Go
// backend from the same state, compares the results, and then times plain and bio training steps of the
// paper's networks on the chosen backend. It writes one JSON report and exits with status 1 when a check
// fails, 2 on an error.
//
//	go build -tags xla -o biocheck ./cmd/biocheck
//	GOMLX_BACKEND=xla:cuda ./biocheck -out out/biocheck.json
//
// The checks (FCNet 784-width-10 on a fixed random batch, plain SGD):
//
//   - rng: the same RNG state drawn on both backends: whether the bits are identical (GoMLX's Go backend
//     draws with math/rand/v2's PCG, XLA with Philox, so they are not expected to be) and whether the
//     uniform and normal samples have the same distribution (two-sample Kolmogorov–Smirnov).
//   - init, per case: a fresh context with the same seed initialised and trained one step on each backend;
//     the distribution (mean, std) of every variable must agree, since the draws differ.
//   - steps, per case: the Go backend's state after that first step is cloned to the chosen backend and
//     both train -steps more steps. Every context variable is compared by scope and name. Cases without
//     per-step random draws (deterministic) must agree within a tolerance; cases that draw every step
//     (rejuvenation, volume, all) must agree in distribution.
//
// One case per mechanism alone (fuzzy, rejuvenation, volume, crystallize, scaling, dale, l1, split = weight
// splitting with Γ=2), "none" (converted, every mechanism off) and "all" (every mechanism, with Γ=2).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
	"github.com/gomlx/gomlx/backends"
)

// options are the command-line flags.
type options struct {
	backend, reference    string
	width, batch, steps   int
	seed                  int64
	lr                    float64
	cases                 string
	timeModels            string
	timeBatch, timeSteps  int
	fcnetWidth            int
	out                   string
	skipChecks, skipTimes bool
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.backend, "backend", internalbackend.Name(), "backend to check: go, xla:cpu, xla:cuda (default $GOMLX_BACKEND, else go)")
	flag.StringVar(&o.reference, "reference", internalbackend.Go, "reference backend")
	flag.IntVar(&o.width, "width", 64, "checks: hidden width of FCNet 784-width-10")
	flag.IntVar(&o.batch, "batch", 32, "checks: batch size")
	flag.IntVar(&o.steps, "steps", 3, "checks: training steps compared after the common first step")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the initialisation, the data and the bio draws")
	flag.Float64Var(&o.lr, "lr", 0.1, "checks: SGD learning rate")
	flag.StringVar(&o.cases, "cases", strings.Join(caseNames(), ","), "checks: comma-separated cases")
	flag.StringVar(&o.timeModels, "time-models", "fcnet,alexnetmini,resnet20", "models to time (empty: none)")
	flag.IntVar(&o.timeBatch, "time-batch", 100, "timing: batch size")
	flag.IntVar(&o.timeSteps, "time-steps", 20, "timing: measured steps per variant (after 2 warm-up steps)")
	flag.IntVar(&o.fcnetWidth, "fcnet-width", 1000, "timing: hidden width of FCNet")
	flag.StringVar(&o.out, "out", "out/biocheck.json", "JSON report to write")
	flag.BoolVar(&o.skipChecks, "skip-checks", false, "only time the models")
	flag.BoolVar(&o.skipTimes, "skip-times", false, "only run the checks")
	flag.Parse()
	return o
}

// Report is the JSON the command writes.
type Report struct {
	Backend     string       `json:"backend"`
	Description string       `json:"backend_description"`
	Reference   string       `json:"reference"`
	When        string       `json:"when"`
	Settings    any          `json:"settings"`
	Tolerances  Tolerances   `json:"tolerances"`
	RNG         *RNGReport   `json:"rng,omitempty"`
	Cases       []CaseReport `json:"cases,omitempty"`
	Timings     []Timing     `json:"timings,omitempty"`
	Failures    []string     `json:"failures"`
	Pass        bool         `json:"pass"`
	// Complete is false in a report written before the end (a run stopped by a time limit leaves one).
	Complete bool    `json:"complete"`
	Seconds  float64 `json:"seconds"`
}

func main() {
	o := parseFlags()
	rep, err := run(o)
	if rep != nil {
		if werr := writeJSON(o.out, rep); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "biocheck:", err)
		os.Exit(2)
	}
	fmt.Printf("biocheck: %s vs %s: %d cases, %d timings, %d failures; report in %s\n",
		rep.Backend, rep.Reference, len(rep.Cases), len(rep.Timings), len(rep.Failures), o.out)
	for _, f := range rep.Failures {
		fmt.Println("  FAIL", f)
	}
	if !rep.Pass {
		os.Exit(1)
	}
}

func run(o *options) (*Report, error) {
	if o.width < 1 || o.batch < 1 || o.steps < 1 || o.timeBatch < 1 || o.timeSteps < 1 || o.fcnetWidth < 1 {
		return nil, fmt.Errorf("-width, -batch, -steps, -time-batch, -time-steps and -fcnet-width must be ≥ 1")
	}
	start := time.Now()
	target, err := internalbackend.New(o.backend)
	if err != nil {
		return nil, err
	}
	defer target.Finalize()
	rep := &Report{Backend: o.backend, Description: target.Description(), Reference: o.reference,
		When: start.UTC().Format(time.RFC3339), Settings: o.settings(), Tolerances: defaultTolerances}
	if !o.skipChecks {
		if err := runChecks(o, target, rep); err != nil {
			return rep, err
		}
		rep.save(o.out) // a partial report survives a time limit hit while timing
	}
	if !o.skipTimes {
		if err := runTimings(o, target, rep); err != nil {
			return rep, err
		}
	}
	rep.Pass, rep.Complete = len(rep.Failures) == 0, true
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// runChecks runs the RNG check and every case against the reference backend.
func runChecks(o *options, target backends.Backend, rep *Report) error {
	ref, err := internalbackend.New(o.reference)
	if err != nil {
		return err
	}
	defer ref.Finalize()
	rng, err := checkRNG(ref, target, o.seed)
	if err != nil {
		return fmt.Errorf("rng check: %w", err)
	}
	rep.RNG = rng
	rep.Failures = append(rep.Failures, rng.Failures...)
	for _, name := range splitList(o.cases) {
		c, ok := caseByName(name)
		if !ok {
			return fmt.Errorf("-cases: %q is not a case; cases: %s", name, strings.Join(caseNames(), ", "))
		}
		cr, err := runCase(o, c, ref, target)
		if err != nil {
			return fmt.Errorf("case %q: %w", name, err)
		}
		rep.Cases = append(rep.Cases, *cr)
		rep.Failures = append(rep.Failures, cr.Failures...)
		fmt.Printf("case %-13s %-13s failures=%d (%.1fs)\n", name, c.kind(), len(cr.Failures), cr.Seconds)
	}
	return nil
}

// save writes the report as it stands, marked incomplete; errors are left to the final write.
func (rep *Report) save(path string) {
	rep.Pass = len(rep.Failures) == 0
	_ = writeJSON(path, rep)
}

func (o *options) settings() map[string]any {
	return map[string]any{"width": o.width, "batch": o.batch, "steps": o.steps, "seed": o.seed, "lr": o.lr,
		"time_batch": o.timeBatch, "time_steps": o.timeSteps, "fcnet_width": o.fcnetWidth}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
