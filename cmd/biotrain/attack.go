package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/bio-transformations/go-bio/experiments"
	"github.com/bio-transformations/go-bio/experiments/inversion"
)

// intList is a flag.Value holding comma-separated integers.
type intList struct{ v *[]int }

// String returns the list comma-separated.
func (l intList) String() string {
	if l.v == nil {
		return ""
	}
	parts := make([]string, len(*l.v))
	for i, x := range *l.v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// Set parses comma-separated integers.
func (l intList) Set(s string) error {
	var out []int
	for _, p := range strings.Split(s, ",") {
		x, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("%q is not a comma-separated list of integers", s)
		}
		out = append(out, x)
	}
	*l.v = out
	return nil
}

// attackOptions is the parsed command line of `biotrain attack`.
type attackOptions struct {
	cfg    inversion.ExperimentConfig
	data   *dataFlags
	out    string
	report string
}

// attackFlags are the flags of `biotrain attack` that are not bound to a field of the configuration.
type attackFlags struct {
	full                      *bool
	variants, observe, labels *string
}

// attackProtocolUsage documents -protocol for attack.
const attackProtocolUsage = `preset of settings: "ours" (this project's reduced design: FCNet 784-100-10, lr 0.05, unnormalised pixels) or "paper" ` +
	`(the authors' victims and attack, shared/PAPER-PROTOCOL.md section 3, on MNIST: plain SGD lr 1e-3, batch 100, inputs standardised ` +
	`inside the model graph with MNIST's mean 0.1307 and std 0.3081 (the attack still reconstructs pixels in [0, 1]), ν 0.09, d 8 every step, ` +
	`snapshots after epochs 1, 51, 101, 201 = steps 600,30600,60600,120600, batches of 2, 4, 8 held-out images × 5, signed Adam lr 0.1, ` +
	`TV 1e-6, 7000 iterations, the cosine cost, labels known, the plain gradient observed, 5 seeds, width 0 = the authors' sizes: ` +
	`FCNet 784-1000-10, ResNets 6-12-24, out/attack-paper; the authors attacked Γ = 0 only, one victim each: ` +
	`-variants fuzzy,rejuvenation,fuzzy+rejuvenation -seeds 1 for theirs); explicit flags override it`

// attackFlagSet defines the flags of `biotrain attack` bound to the fields of cfg and o (the preset's values
// are the defaults).
func attackFlagSet(cfg *inversion.ExperimentConfig, o *attackOptions) (*flag.FlagSet, attackFlags) {
	fs := flag.NewFlagSet("biotrain attack", flag.ContinueOnError)
	var af attackFlags
	protocol := cfg.Protocol
	if protocol == "" {
		protocol = experiments.ProtocolOurs
	}
	fs.String("protocol", protocol, attackProtocolUsage)
	af.full = fs.Bool("full", false, "preset of -protocol ours: the paper's sizes on MNIST (width 1000, 5 seeds, batches of 2/4/8, 5 each, 7000 iterations; days on 2 cores)")
	fs.Bool("normalize", cfg.Normalize != nil, "standardise the victims' inputs inside the model graph with MNIST's mean 0.1307 and std 0.3081 (-protocol paper: on)")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "victim model: "+strings.Join(experiments.ModelNames, ", ")+" (-protocol paper: a ResNet gets the authors' stage widths 6-12-24 unless -width is given)")
	fs.IntVar(&cfg.Width, "width", cfg.Width, "fcnet: hidden width (paper: 1000); others: width multiplier in percent; 0 = paper size")
	af.variants = fs.String("variants", strings.Join(cfg.Variants, ","), "comma-separated variants of the design to attack (the baseline is always attacked)")
	fs.IntVar(&cfg.Seeds, "seeds", cfg.Seeds, "victims per variant")
	fs.Int64Var(&cfg.FirstSeed, "first-seed", cfg.FirstSeed, "first seed")
	fs.Var(intList{&cfg.Snapshots}, "steps", "comma-separated training steps at which the victims are attacked (0: untrained)")
	fs.Var(intList{&cfg.BatchSizes}, "batch-sizes", "comma-separated sizes of the attacked batches (paper: 2,4,8)")
	fs.IntVar(&cfg.Batches, "batches", cfg.Batches, "batches attacked per size and snapshot (paper: 5)")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "victims' SGD learning rate")
	fs.IntVar(&cfg.TrainBatchSize, "batch", cfg.TrainBatchSize, "victims' training batch size")
	fs.IntVar(&cfg.EvalSize, "eval-size", cfg.EvalSize, "test images on which each victim snapshot's accuracy is measured")
	fs.IntVar(&cfg.Attack.Iterations, "iterations", cfg.Attack.Iterations, "attack iterations (paper: up to 7000)")
	fs.Float64Var(&cfg.Attack.LearningRate, "attack-lr", cfg.Attack.LearningRate, "attack's Adam learning rate")
	fs.Float64Var(&cfg.Attack.TotalVariation, "tv", cfg.Attack.TotalVariation, "weight of the total-variation prior (paper: 1e-6)")
	fs.BoolVar(&cfg.Attack.Signed, "signed", cfg.Attack.Signed, "step Adam with the sign of the gradient (Geiping et al.)")
	labels := string(cfg.Labels)
	if labels == "" {
		labels = string(inversion.LabelsKnown)
	}
	af.labels = fs.String("labels", labels, `how the attacker gets the batch's labels: "known" (given, as the authors do) or "idlg" `+
		`(inferred from the classifier's gradient, Zhao et al. 2020: the most negative bias-gradient entries; repeated labels in a batch cannot be recovered)`)
	obs := make([]string, len(cfg.Observations))
	for i, o := range cfg.Observations {
		obs[i] = string(o)
	}
	af.observe = fs.String("observe", strings.Join(obs, ","), `comma-separated gradients the attacker observes: "gradient" (plain) and/or "update" (times the private fuzzy factors)`)
	fs.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "victims handled at once, each with its own backend (default: number of CPUs)")
	fs.StringVar(&o.out, "out", o.out, "output folder for attack.md, attack.csv, attack.json and the reconstruction pictures; finished victims are kept in its attack-runs/, so a killed experiment re-run with the same -out does only the rest")
	fs.StringVar(&o.report, "report", "", "only rewrite the report (table and pictures) from this attack.json, into -out")
	o.data = addDataFlags(fs, experiments.SplitConfig{})
	return fs, af
}

// parseAttack parses the flags of `biotrain attack`: the preset (-protocol paper, -full or the default)
// gives the defaults, explicit flags override them. -h prints the flags to stdout.
func parseAttack(args []string, stdout io.Writer) (*attackOptions, error) {
	// First pass: find the preset (and report syntax errors once).
	probe := inversion.DefaultExperimentConfig()
	fs, af := attackFlagSet(&probe, &attackOptions{})
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	protocol, err := protocolFlag(fs)
	if err != nil {
		return nil, err
	}
	o := &attackOptions{cfg: inversion.DefaultExperimentConfig(), out: "out/attack"}
	switch {
	case protocol == experiments.ProtocolPaper && *af.full:
		return nil, fmt.Errorf("-protocol paper is a preset of its own: -full is a preset of -protocol ours")
	case protocol == experiments.ProtocolPaper:
		o.cfg, o.out = inversion.PaperProtocolExperimentConfig(), "out/attack-paper"
	case *af.full:
		o.cfg, o.out = inversion.PaperExperimentConfig(), "out/attack-full"
	}
	// Second pass: bind the flags to the preset.
	fs, af = attackFlagSet(&o.cfg, o)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, name := range []string{"test-set", "train-size", "val-size", "val-fraction"} {
		if flagSet(fs, name) {
			return nil, fmt.Errorf("-%s does not apply: victims train on the official training set and the attacked images come from the test set", name)
		}
	}
	o.cfg.Normalize = normalizeFlag(fs)
	o.cfg.StageWidths = stageWidths(protocol, o.cfg.Model, fs)
	o.cfg.Labels = inversion.LabelMode(*af.labels)
	if !slices.Contains(inversion.LabelModes, o.cfg.Labels) {
		return nil, fmt.Errorf("-labels %q is unknown (known: %s, %s)", *af.labels, inversion.LabelsKnown, inversion.LabelsIDLG)
	}
	o.cfg.Variants = strings.Split(*af.variants, ",")
	o.cfg.ResultsDir = o.out
	o.cfg.Observations = nil
	for _, s := range strings.Split(*af.observe, ",") {
		o.cfg.Observations = append(o.cfg.Observations, inversion.Observation(strings.TrimSpace(s)))
	}
	if o.report == "" {
		if err := o.cfg.Validate(); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func runAttack(args []string, stdout, stderr io.Writer) error {
	o, err := parseAttack(args, stdout)
	if err != nil {
		return err
	}
	var res *inversion.ExperimentResult
	if o.report != "" {
		f, err := os.Open(o.report)
		if err != nil {
			return fmt.Errorf("-report: %w", err)
		}
		res, err = inversion.ReadJSON(f)
		_ = f.Close()
		if err != nil {
			return err
		}
	} else {
		trainSet, testSet, err := o.data.load()
		if err != nil {
			return err
		}
		c := o.cfg
		fmt.Fprintf(stdout, "attack: %s width %d stage widths %v, %d variants × %d seeds, lr %g, normalised %v, snapshots %v, batch sizes %v × %d, %d iterations, labels %s, observed %v\n",
			c.Model, c.Width, c.StageWidths, len(c.Variants), c.Seeds, c.LR, c.Normalize != nil, c.Snapshots, c.BatchSizes, c.Batches,
			c.Attack.Iterations, c.Labels, c.Observations)
		if res, err = inversion.Run(c, trainSet, testSet, stdout); err != nil {
			return err
		}
	}
	outs, err := inversion.WriteOutputs(o.out, res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, inversion.MarkdownTable(inversion.Summarize(res)))
	fmt.Fprintf(stdout, "\nwall time %.0f s\nwrote %s, %s, %s\npictures: %s\n", res.WallSeconds, outs.CSV, outs.JSON, outs.Markdown,
		strings.Join(outs.Pictures, ", "))
	return nil
}
