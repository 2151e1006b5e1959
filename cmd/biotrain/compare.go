package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/experiments"
	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
)

// compareOptions is the parsed command line of `biotrain compare`.
type compareOptions struct {
	cfg  experiments.CompareConfig
	data *dataFlags
	out  string
	// backendConfig is passed to the Go backend of every run.
	backendConfig string
	// backend names the backend of every run: go, xla:cpu, xla:cuda.
	backend string
	// lowMemory runs each layer's bio stages one after another, in every run.
	lowMemory bool
}

// compareFlagSet defines the flags of `biotrain compare` bound to the fields of cfg (the preset's values
// are the defaults).
func compareFlagSet(cfg *experiments.CompareConfig, out *string) (*flag.FlagSet, *dataFlags, *bioFlags, *bool, *bool, *string) {
	fs := flag.NewFlagSet("biotrain compare", flag.ContinueOnError)
	protocol := cfg.Protocol
	if protocol == "" {
		protocol = experiments.ProtocolOurs
	}
	fs.String("protocol", protocol, protocolUsage+"; paper also: the 8 factorial variants plus the weight-splitting control "+
		experiments.SplitStepControlName+", 5 splits, out/paper")
	normalize := cfg.Normalize != nil
	fs.Bool("normalize", normalize, "standardise the inputs with MNIST's mean 0.1307 and std 0.3081 (-protocol paper: on)")
	demo := fs.Bool("demo", false, "preset: reduced design on real MNIST in a few minutes on 2 cores (width 100, 10k/1k images, 3 epochs, 2 seeds, lr 0.1)")
	full := fs.Bool("full", false, "preset: the paper's design (width 1000, all data, 200 epochs, lr 1e-3, 5 seeds)")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "model: "+strings.Join(experiments.ModelNames, ", "))
	fs.IntVar(&cfg.Width, "width", cfg.Width, "fcnet: hidden width (paper: 1000); alexnetmini/resnetNN: width multiplier in percent (paper: 100); 0 = paper size")
	fs.IntVar(&cfg.Seeds, "seeds", cfg.Seeds, "seeds per variant (seed s uses data fold s mod 5)")
	fs.Int64Var(&cfg.FirstSeed, "first-seed", cfg.FirstSeed, "first seed")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs per run (paper: 200)")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "plain SGD learning rate (paper: 1e-3 with 200 epochs; 0.05 suits short runs)")
	fs.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "batch size (paper: 100)")
	fs.IntVar(&cfg.EvalEvery, "eval-every", cfg.EvalEvery, "also evaluate every this many steps (0: per epoch only)")
	fs.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "runs at once, each with its own backend (default: number of CPUs)")
	fs.StringVar(out, "out", *out, "output folder for results.csv, results.json, results.md and learning_curves.png; finished runs are kept in its compare-runs/, so a killed comparison re-run with the same -out does only the rest")
	fs.BoolVar(&cfg.KeepModels, "keep-models", cfg.KeepModels, "also keep every run's newest checkpoint and run.json in -out's compare-models/<variant>-seed<seed>/ (for biotrain hessian -checkpoint; a killed run then continues from its last epoch)")
	fs.String("backend-config", "", `Go backend options for every run, e.g. "ops_sequential" or "dotgeneral_small"`)
	fs.Bool("low-memory", false, lowMemoryUsage)
	fs.String("backend", internalbackend.Name(), "backend of every run: go, xla:cpu or xla:cuda (XLA needs a build with -tags xla; use -parallel 1 on one GPU); default $GOMLX_BACKEND, else go")
	variants := fs.String("variants", "", "comma-separated variants to run besides the baseline (default: all; e.g. fuzzy,rejuvenation)")
	data := addDataFlags(fs, cfg.Split)
	bf := addBioFlags(fs, cfg.Base)
	return fs, data, bf, demo, full, variants
}

// parseCompare parses the flags of `biotrain compare`: the preset (-demo, -full or the default) gives the
// defaults, explicit flags override them. Errors name the flag; -h prints the flags to stdout.
func parseCompare(args []string, stdout io.Writer) (*compareOptions, error) {
	// First pass: find the preset (and report syntax errors once).
	probe := experiments.DefaultCompareConfig()
	var probeOut string
	fs, _, _, demo, full, _ := compareFlagSet(&probe, &probeOut)
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	protocol, err := protocolFlag(fs)
	if err != nil {
		return nil, err
	}
	if *demo && *full {
		return nil, fmt.Errorf("-demo and -full are exclusive")
	}
	if protocol == experiments.ProtocolPaper && (*demo || *full) {
		return nil, fmt.Errorf("-protocol paper is a preset of its own: -demo and -full are presets of -protocol ours")
	}
	o := &compareOptions{cfg: experiments.DefaultCompareConfig(), out: "out/compare"}
	switch {
	case *demo:
		o.cfg, o.out = experiments.DemoCompareConfig(), "out/demo"
	case *full:
		o.cfg, o.out = experiments.PaperCompareConfig(), "out/full"
	case protocol == experiments.ProtocolPaper:
		o.cfg, o.out = experiments.PaperProtocolCompareConfig(), "out/paper"
	}
	// Second pass: bind the flags to the preset.
	fs, data, bf, _, _, variants := compareFlagSet(&o.cfg, &o.out)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.data = data
	o.backendConfig = fs.Lookup("backend-config").Value.String()
	o.backend = fs.Lookup("backend").Value.String()
	o.lowMemory = fs.Lookup("low-memory").Value.(flag.Getter).Get().(bool)
	o.cfg.Split = data.split()
	o.cfg.Normalize = normalizeFlag(fs)
	o.cfg.StageWidths = stageWidths(protocol, o.cfg.Model, fs)
	base, err := bf.apply(o.cfg.Base)
	if err != nil {
		return nil, err
	}
	if keys := designSwitchesChanged(o.cfg.Base, base); len(keys) > 0 {
		return nil, fmt.Errorf("%s: the design switches every mechanism on in its own variants "+
			"(choose them with -variants); set only the mechanisms' parameters, e.g. -crystal_thresh or -rejuvenation_parameter_dre",
			strings.Join(keys, ", "))
	}
	o.cfg.Base = base
	o.cfg.ResultsDir = o.out
	if *variants != "" {
		o.cfg.Variants = strings.Split(*variants, ",")
	}
	if err := o.cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := o.cfg.SelectedVariants(); err != nil {
		return nil, fmt.Errorf("-variants: %w", err)
	}
	return o, nil
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	o, err := parseCompare(args, stdout)
	if err != nil {
		return err
	}
	trainAll, testAll, err := o.data.load()
	if err != nil {
		return err
	}
	vs, _ := o.cfg.SelectedVariants()
	fmt.Fprintf(stdout, "compare: %d variants × %d seeds, %s width %d, %d epochs, lr %g, %d runs at a time\n",
		len(vs), o.cfg.Seeds, o.cfg.Model, o.cfg.Width, o.cfg.Epochs, o.cfg.LR, o.cfg.Parallel)
	res, err := experiments.Compare(o.cfg, trainAll, testAll, experiments.RunOptions{BackendConfig: o.backendConfig, Backend: o.backend, LowMemory: o.lowMemory}, stdout)
	if err != nil {
		return err
	}
	outs, err := experiments.WriteOutputs(o.out, res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, experiments.MarkdownTable(experiments.Summarize(res)))
	fmt.Fprintf(stdout, "\nwall time %.0f s\nwrote %s, %s, %s\nplot: %s\n", res.WallSeconds, outs.CSV, outs.JSON, outs.Markdown,
		strings.Join(outs.Plots, ", "))
	return nil
}

// protocolUsage documents -protocol for train and compare.
const protocolUsage = `preset of settings: "ours" (this project's short protocol: lr 0.05, unnormalised pixels) or "paper" ` +
	`(the authors': plain SGD lr 1e-3, batch 100, 200 epochs, inputs standardised with MNIST's mean 0.1307 and std 0.3081, ` +
	`ν 0.09 and d 14 every step, crystallization and volume-dependent lr off, Γ ∈ {0, 2} with the classifier unsplit, ` +
	`train+test pooled and split by scikit-learn's ShuffleSplit(5, test_size=0.1, random_state=0) with split = seed, ` +
	`width 0 = the authors' sizes: FCNet 784-1000-10, AlexNetMini padding 7, ResNets 6-12-24); explicit flags override it`

// protocolFlag returns the value of -protocol, or an error naming the allowed values.
func protocolFlag(fs *flag.FlagSet) (string, error) {
	p := fs.Lookup("protocol").Value.String()
	if !slices.Contains(experiments.Protocols, p) {
		return "", fmt.Errorf("-protocol %q is unknown (known: %s)", p, strings.Join(experiments.Protocols, ", "))
	}
	return p, nil
}

// normalizeFlag returns MNIST's normalisation when -normalize is on, else nil.
func normalizeFlag(fs *flag.FlagSet) *experiments.Normalization {
	if fs.Lookup("normalize").Value.String() != "true" {
		return nil
	}
	n := experiments.MNISTNormalization
	return &n
}

// stageWidths returns the authors' ResNet stage widths for a ResNet under the paper's protocol unless -width
// was given (an explicit width keeps its meaning, a multiplier of 16-32-64); nil otherwise.
func stageWidths(protocol, model string, fs *flag.FlagSet) []int {
	if protocol != experiments.ProtocolPaper || flagSet(fs, "width") || !strings.HasPrefix(strings.ToLower(model), "resnet") {
		return nil
	}
	return experiments.PaperStageWidths()
}

// designSwitchesChanged lists the bio keys that the comparison's design sets per variant and that the user
// changed (by flag, -config or -set): they would be silently overridden, so they are refused.
func designSwitchesChanged(preset, given bio.Config) []string {
	var keys []string
	for _, c := range []struct {
		key     string
		changed bool
	}{
		{"fuzzy_learning_rates", preset.FuzzyLearningRates != given.FuzzyLearningRates},
		{"rejuvenate_weights", preset.RejuvenateWeights != given.RejuvenateWeights},
		{"crystallize", preset.Crystallize != given.Crystallize},
		{"volume_dependent_lr", preset.VolumeDependentLR != given.VolumeDependentLR},
		{"scale_grad", preset.ScaleGrad != given.ScaleGrad},
		{"l1_reg", preset.L1Reg != given.L1Reg},
		{"apply_dales_principle", preset.ApplyDalesPrinciple != given.ApplyDalesPrinciple},
		{"weight_splitting_Gamma", preset.WeightSplittingGamma != given.WeightSplittingGamma},
	} {
		if c.changed {
			keys = append(keys, c.key)
		}
	}
	return keys
}
