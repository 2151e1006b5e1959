package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
	out        string
	backend    string
}

// parseHessian parses the flags of `biotrain hessian`. With -checkpoint, the run's configuration is read from
// its run.json (written by biotrain train -checkpoint); -model and -width, when given, must agree with it.
func parseHessian(args []string, stdout io.Writer) (*hessianOptions, error) {
	fs := flag.NewFlagSet("biotrain hessian", flag.ContinueOnError)
	o := &hessianOptions{}
	fs.StringVar(&o.checkpoint, "checkpoint", "", "folder of a run saved by `biotrain train -checkpoint` (its newest checkpoint and run.json); empty: the seeded initial weights of -model")
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
	if o.checkpoint != "" {
		if err := o.readRun(fs); err != nil {
			return nil, err
		}
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

// readRun takes the run's configuration and split from the checkpoint folder's run.json.
func (o *hessianOptions) readRun(fs *flag.FlagSet) error {
	p := filepath.Join(o.checkpoint, runConfigFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("-checkpoint: the run's configuration %q cannot be read (was %q written by biotrain train -checkpoint?): %w", p, o.checkpoint, err)
	}
	var saved struct {
		Run   experiments.RunConfig   `json:"run"`
		Split experiments.SplitConfig `json:"split"`
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("-checkpoint: reading %q: %w", p, err)
	}
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
	trainSet, _, err := experiments.Split(trainAll, testAll, o.split, o.run.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hessian: %s width %d (%s), %d batches of %d training examples (seed %d), %d Lanczos steps\n",
		o.run.Model, o.run.Width, o.run.Variant, o.cfg.Batches, o.cfg.BatchSize, o.cfg.Seed, o.cfg.Iterations)
	res, err := experiments.HessianAt(o.run, o.checkpoint, trainSet, o.cfg, experiments.RunOptions{Backend: o.backend})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loss %.5f over %d examples, %d parameters\nlargest eigenvalue  %.6g\nsmallest eigenvalue %.6g\nratio min/max       %.6g\n(%d Lanczos steps, %.1f s)\n",
		res.Loss, res.Examples, res.Params, res.Max, res.Min, res.Ratio, res.Iterations, res.Seconds)
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("-out %q: %w", o.out, err)
	}
	if err := os.WriteFile(o.out, data, 0o644); err != nil {
		return fmt.Errorf("-out %q: %w", o.out, err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	return nil
}
