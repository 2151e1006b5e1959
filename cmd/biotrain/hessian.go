package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/experiments"
	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
)

// hessianOptions is the parsed command line of `biotrain hessian`.
type hessianOptions struct {
	run        experiments.RunConfig
	split      experiments.SplitConfig
	cfg        experiments.HessianConfig
	data       *dataFlags
	checkpoint string
	// models, when set, is a folder of run folders (biotrain compare -keep-models' compare-models/): each
	// one is measured like -checkpoint, and a per-variant summary is written.
	models  string
	out     string
	backend string
}

// parseHessian parses the flags of `biotrain hessian`. With -checkpoint, the run's configuration is read from
// its run.json (written by biotrain train -checkpoint); -model and -width, when given, must agree with it.
func parseHessian(args []string, stdout io.Writer) (*hessianOptions, error) {
	fs := flag.NewFlagSet("biotrain hessian", flag.ContinueOnError)
	o := &hessianOptions{}
	fs.StringVar(&o.checkpoint, "checkpoint", "", "folder of a run saved by `biotrain train -checkpoint` (its newest checkpoint and run.json); empty: the seeded initial weights of -model")
	fs.StringVar(&o.models, "models", "", "folder of run folders, e.g. <compare -out>/compare-models: measure every run in it (a run already measured with the same settings is kept) and write hessian.md and hessian.json next to it (or into -out)")
	model := fs.String("model", "fcnet", "model without -checkpoint: "+strings.Join(experiments.ModelNames, ", "))
	width := fs.Int("width", experiments.DefaultFCNetWidth, "width without -checkpoint (see biotrain train -h)")
	fs.IntVar(&o.cfg.Batches, "batches", 10, "training batches in the sample (the first ones of the run's training split shuffled with -seed)")
	fs.IntVar(&o.cfg.BatchSize, "batch", experiments.DefaultBatchSize, "examples per batch")
	fs.IntVar(&o.cfg.Iterations, "iterations", 20, "Lanczos steps (each one Hessian-vector product per batch; memory: this many parameter vectors)")
	fs.Int64Var(&o.cfg.Seed, "seed", 0, "seed of the sample's order and of Lanczos' start vector")
	fs.StringVar(&o.out, "out", "", "JSON file for the result (default: hessian.json in -checkpoint, else out/hessian.json)")
	fs.StringVar(&o.backend, "backend", internalbackend.Name(), "backend: go, xla:cpu or xla:cuda (XLA needs a build with -tags xla)")
	o.data = addDataFlags(fs, experiments.SplitConfig{})
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	o.run = experiments.RunConfig{Variant: experiments.BaselineName, Model: *model, Width: *width, Epochs: 1,
		LR: experiments.DefaultLR, BatchSize: o.cfg.BatchSize}
	o.split = o.data.split()
	if o.checkpoint != "" && o.models != "" {
		return nil, fmt.Errorf("-checkpoint and -models are exclusive: measure one run or a folder of runs")
	}
	if o.checkpoint != "" {
		if err := o.readRun(fs); err != nil {
			return nil, err
		}
	}
	if o.models != "" {
		if err := o.cfg.Validate(); err != nil {
			return nil, err
		}
		if o.out == "" {
			o.out = filepath.Dir(filepath.Clean(o.models))
		}
		return o, nil
	}
	if o.out == "" {
		o.out = filepath.Join("out", "hessian.json")
		if o.checkpoint != "" {
			o.out = filepath.Join(o.checkpoint, "hessian.json")
		}
	}
	if err := o.cfg.Validate(); err != nil {
		return nil, err
	}
	return o, o.run.Validate()
}

// savedRun is the run.json of a checkpoint folder.
type savedRun struct {
	Run   experiments.RunConfig   `json:"run"`
	Split experiments.SplitConfig `json:"split"`
}

// readSavedRun reads the run.json of checkpoint folder dir.
func readSavedRun(dir string) (savedRun, error) {
	var saved savedRun
	p := filepath.Join(dir, runConfigFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return saved, fmt.Errorf("the run's configuration %q cannot be read (was %q written by biotrain train -checkpoint or compare -keep-models?): %w", p, dir, err)
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		return saved, fmt.Errorf("reading %q: %w", p, err)
	}
	return saved, nil
}

// readRun takes the run's configuration and split from the checkpoint folder's run.json.
func (o *hessianOptions) readRun(fs *flag.FlagSet) error {
	saved, err := readSavedRun(o.checkpoint)
	if err != nil {
		return fmt.Errorf("-checkpoint: %w", err)
	}
	p := filepath.Join(o.checkpoint, runConfigFile)
	if flagSet(fs, "model") && !strings.EqualFold(o.run.Model, saved.Run.Model) {
		return fmt.Errorf("-model %q differs from the checkpoint's model %q (%s)", o.run.Model, saved.Run.Model, p)
	}
	if flagSet(fs, "width") && o.run.Width != saved.Run.Width {
		return fmt.Errorf("-width %d differs from the checkpoint's width %d (%s)", o.run.Width, saved.Run.Width, p)
	}
	o.run, o.split = saved.Run, saved.Split
	return nil
}

func runHessian(args []string, stdout, _ io.Writer) error {
	o, err := parseHessian(args, stdout)
	if err != nil {
		return err
	}
	trainAll, testAll, err := o.data.load()
	if err != nil {
		return err
	}
	if o.models != "" {
		return measureModels(o, trainAll, testAll, stdout)
	}
	res, err := measureRun(o, o.run, o.split, o.checkpoint, trainAll, testAll, stdout)
	if err != nil {
		return err
	}
	if err := writeJSONFile(o.out, res); err != nil {
		return fmt.Errorf("-out %q: %w", o.out, err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	return nil
}

// measureRun measures the Hessian of one run (weights from checkpoint dir, "" for the initial ones) and
// prints the result.
func measureRun(o *hessianOptions, run experiments.RunConfig, split experiments.SplitConfig, dir string,
	trainAll, testAll *idx.Dataset, stdout io.Writer) (*experiments.HessianResult, error) {
	trainSet, _, err := experiments.Split(trainAll, testAll, split, run.Seed)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "hessian: %s width %d (%s seed %d), %d batches of %d training examples (seed %d), %d Lanczos steps\n",
		run.Model, run.Width, run.Variant, run.Seed, o.cfg.Batches, o.cfg.BatchSize, o.cfg.Seed, o.cfg.Iterations)
	res, err := experiments.HessianAt(run, dir, trainSet, o.cfg, experiments.RunOptions{Backend: o.backend})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "loss %.5f over %d examples, %d parameters\nlargest eigenvalue  %.6g\nsmallest eigenvalue %.6g\nratio min/max       %.6g\n(%d Lanczos steps, %.1f s)\n",
		res.Loss, res.Examples, res.Params, res.Max, res.Min, res.Ratio, res.Iterations, res.Seconds)
	return res, nil
}

// writeJSONFile writes v as indented JSON to path, creating its folder.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// measureModels measures every run folder in o.models (in name order), keeping a run's hessian.json when it
// was measured with the same settings, and writes hessian.md and hessian.json into o.out.
func measureModels(o *hessianOptions, trainAll, testAll *idx.Dataset, stdout io.Writer) error {
	entries, err := os.ReadDir(o.models)
	if err != nil {
		return fmt.Errorf("-models: %w", err)
	}
	var results []*experiments.HessianResult
	for _, e := range entries {
		dir := filepath.Join(o.models, e.Name())
		if !e.IsDir() || !experiments.HasCheckpoints(dir) {
			continue
		}
		res, err := measureModel(o, dir, trainAll, testAll, stdout)
		if err != nil {
			return fmt.Errorf("-models: %s: %w", e.Name(), err)
		}
		results = append(results, res)
	}
	if len(results) == 0 {
		return fmt.Errorf("-models %q holds no run folder with checkpoints (biotrain compare -keep-models writes them)", o.models)
	}
	md := "# Hessian of the training loss at the final models\n\n" + fmt.Sprintf("Runs in %s; sample: %d batches of %d "+
		"training examples of each run's own split (shuffled with seed %d); %d Lanczos steps. p: Welch's t-test against "+
		"the baseline.\n\n", o.models, o.cfg.Batches, o.cfg.BatchSize, o.cfg.Seed, o.cfg.Iterations) + experiments.MarkdownHessians(results)
	summary := map[string]any{"summaries": experiments.SummarizeHessians(results), "runs": results}
	if err := writeJSONFile(filepath.Join(o.out, "hessian.json"), summary); err != nil { // creates -out
		return fmt.Errorf("-out %q: %w", o.out, err)
	}
	if err := os.WriteFile(filepath.Join(o.out, "hessian.md"), []byte(md), 0o644); err != nil {
		return fmt.Errorf("-out %q: %w", o.out, err)
	}
	fmt.Fprintf(stdout, "wrote %s and hessian.json\n", filepath.Join(o.out, "hessian.md"))
	return nil
}

// measureModel measures one run folder of -models, or returns its earlier hessian.json with the same settings.
func measureModel(o *hessianOptions, dir string, trainAll, testAll *idx.Dataset, stdout io.Writer) (*experiments.HessianResult, error) {
	saved, err := readSavedRun(dir)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "hessian.json")
	if data, err := os.ReadFile(p); err == nil {
		var old experiments.HessianResult
		if json.Unmarshal(data, &old) == nil && old.Config == o.cfg {
			fmt.Fprintf(stdout, "hessian: %s kept (%s)\n", filepath.Base(dir), p)
			return &old, nil
		}
	}
	res, err := measureRun(o, saved.Run, saved.Split, dir, trainAll, testAll, stdout)
	if err != nil {
		return nil, err
	}
	return res, writeJSONFile(p, res)
}
