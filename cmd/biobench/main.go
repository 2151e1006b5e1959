// Command biobench measures what the bio mechanisms cost next to a training step: it trains the paper's
// FCNet (784-1000-10 by default, batch 100, plain SGD) with each variant, side by side in one run — the
// variants take turns, step by step, so machine load affects them alike — and writes the median step time
// of each and its ratio to the plain step as JSON.
//
//	go run ./cmd/biobench -steps 30 -out out/bench.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/experiments"
	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
	"github.com/bio-transformations/go-bio/models"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Result is one variant's measurement.
type Result struct {
	Variant       string  `json:"variant"`
	MedianMS      float64 `json:"median_ms_per_step"`
	RatioToPlain  float64 `json:"ratio_to_plain"`
	OverheadPct   float64 `json:"overhead_percent"`
	Steps         int     `json:"steps"`
	HeapDeltaMB   float64 `json:"heap_after_compile_mb"`
	Configuration string  `json:"configuration,omitempty"`
}

// Report is the JSON the command writes.
type Report struct {
	Model     string   `json:"model"`
	Batch     int      `json:"batch"`
	Backend   string   `json:"backend"`
	GoMaxProc int      `json:"gomaxprocs"`
	When      string   `json:"when"`
	Results   []Result `json:"results"`
}

type variant struct {
	experiments.OverheadVariant
	trainer *train.Trainer
	times   []float64
}

// backendName is the -backend flag: the backend to measure on.
var backendName = flag.String("backend", internalbackend.Name(), "backend: go, xla:cpu or xla:cuda (XLA needs a build with -tags xla); default $GOMLX_BACKEND, else go")

func main() {
	steps := flag.Int("steps", 30, "measured steps per variant (after one compile step)")
	hidden := flag.Int("hidden", 1000, "hidden units of FCNet 784-hidden-10")
	batch := flag.Int("batch", 100, "batch size")
	out := flag.String("out", "out/bench.json", "JSON file to write")
	flag.Parse()
	if err := run(*steps, *hidden, *batch, *out); err != nil {
		fmt.Fprintln(os.Stderr, "biobench:", err)
		os.Exit(1)
	}
}

func run(steps, hidden, batch int, out string) error {
	if steps < 1 || hidden < 1 || batch < 1 {
		return fmt.Errorf("-steps, -hidden and -batch must be ≥ 1 (got %d, %d, %d)", steps, hidden, batch)
	}
	backend, err := internalbackend.New(*backendName)
	if err != nil {
		return err
	}
	model := models.FCNetConfig{Hidden: []int{hidden}, NumClasses: 10}.ModelFn
	x := tensors.FromShape(shapes.Make(dtypes.Float32, batch, 784))
	y := tensors.FromShape(shapes.Make(dtypes.Int32, batch, 1))
	var vs []*variant
	for _, v := range experiments.OverheadVariants() {
		vs = append(vs, &variant{OverheadVariant: v})
	}
	heap := map[string]float64{}
	for _, v := range vs {
		ctx := context.New()
		ctx.SetParam(context.ParamInitialSeed, int64(1))
		m, opt := train.ModelFn(model), optimizers.StochasticGradientDescent().WithLearningRate(0.01).Done()
		if v.Bio != nil {
			conv, err := bio.NewConverter(*v.Bio)
			if err != nil {
				return err
			}
			m, opt = conv.Convert(model), conv.Optimizer(opt)
		}
		v.trainer = train.NewTrainer(backend, ctx, m, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := v.trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap[v.Name] = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / (1 << 20)
	}
	for range steps {
		for _, v := range vs {
			start := time.Now()
			if _, err := v.trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
				return fmt.Errorf("%s: %w", v.Name, err)
			}
			v.times = append(v.times, float64(time.Since(start).Microseconds())/1000)
		}
	}
	rep := Report{Model: fmt.Sprintf("FCNet 784-%d-10", hidden), Batch: batch, Backend: backend.Name(),
		GoMaxProc: runtime.GOMAXPROCS(0), When: time.Now().UTC().Format(time.RFC3339)}
	plain := median(vs[0].times)
	for _, v := range vs {
		med := median(v.times)
		r := Result{Variant: v.Name, MedianMS: round(med), RatioToPlain: round(med / plain),
			OverheadPct: round(100 * (med/plain - 1)), Steps: steps, HeapDeltaMB: round(heap[v.Name])}
		if v.Bio != nil {
			r.Configuration = v.Bio.String()
		}
		rep.Results = append(rep.Results, r)
		fmt.Printf("%-50s %8.1f ms/step  ×%.2f\n", v.Name, med, med/plain)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", out)
	return nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
