package experiments

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
)

// TestExecutorDeterministicUnderLoad runs one bio configuration (every gradient mechanism on) several times
// at once, on GoMLX's default executor (ops run in parallel within a step; go test -race reports a data race
// inside it, see the README) and on its sequential one, with extra goroutines loading the CPUs: every
// run must report bit-identical curves. It is the measurement behind the choice to keep the parallel
// executor; it would fail if the executor's race (or anything else in the scheduling) changed a result.
func TestExecutorDeterministicUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("several concurrent training runs")
	}
	if raceDetector {
		t.Skip("runs GoMLX's parallel executor, whose known data race the race detector reports (see the README)")
	}
	trainSet, valSet := synthetic("train", 400, 31), synthetic("val", 100, 32)
	b := PaperBioConfig()
	b.FuzzyLearningRates, b.RejuvenateWeights, b.VolumeDependentLR, b.Crystallize = true, true, true, true
	b.WeightSplittingGamma, b.ScaleGrad = 2, true
	cfg := RunConfig{Variant: "all", Model: "fcnet", Width: 32, Seed: 7, Epochs: 2, LR: 0.3, BatchSize: 20, EvalEvery: 4, Bio: &b}
	backends := []string{"", "", "", "ops_parallel", "ops_sequential", "ops_sequential"}
	results := make([]*RunResult, len(backends))
	errs := make([]error, len(backends))
	stop := make(chan struct{})
	for range runtime.NumCPU() { // load: spinning goroutines competing for the cores
		go func() {
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
					x++
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for i, bc := range backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Run(cfg, trainSet, valSet, RunOptions{BackendConfig: bc})
		}()
	}
	wg.Wait()
	close(stop)
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("run %d (%q): %v", i, backends[i], errs[i])
		}
		if len(r.Curve) != len(results[0].Curve) {
			t.Fatalf("run %d: %d evaluations, run 0: %d", i, len(r.Curve), len(results[0].Curve))
		}
		for j, p := range r.Curve {
			q := results[0].Curve[j]
			p.Seconds, q.Seconds = 0, 0
			if !reflect.DeepEqual(p, q) {
				t.Errorf("run %d (%q) evaluation %d: %+v; run 0: %+v", i, backends[i], j, p, q)
			}
		}
	}
	t.Log(fmt.Sprintf("%d runs (%q) bit-identical over %d evaluations", len(backends), backends, len(results[0].Curve)))
}
