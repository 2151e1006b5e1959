package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/ui/commandline"
)

// parseFlags parses args with fs without printing anything: -h prints the usage and flags to stdout and
// returns flag.ErrHelp (main then exits with 0); other errors (naming the flag) are returned, for main to
// print once, and so are leftover arguments.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: %s [flags]\n\nflags:\n", fs.Name())
		fs.PrintDefaults()
		return err
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return err
}

// bioFlags binds one flag per bio.Config field (named by its json key) to its own bio.Config, plus -config
// (a JSON file) and -set (GoMLX-style "bio_key=value;..."). The bio "seed" is not a flag: every run sets it
// to its own -seed.
type bioFlags struct {
	fs     *flag.FlagSet
	cfg    bio.Config
	config *string
	set    *string
}

// addBioFlags registers the bio flags on fs, with defaults taken from defaults.
func addBioFlags(fs *flag.FlagSet, defaults bio.Config) *bioFlags {
	bf := &bioFlags{fs: fs, cfg: defaults}
	c := &bf.cfg
	num := func(p *float64, key, usage string) { fs.Float64Var(p, key, *p, "bio: "+usage) }
	integer := func(p *int, key, usage string) { fs.IntVar(p, key, *p, "bio: "+usage) }
	on := func(p *bool, key, usage string) { fs.BoolVar(p, key, *p, "bio mechanism: "+usage) }
	fs.TextVar((*bio.ActivationName)(&c.WeightSplittingActivation), "weight_splitting_activation_function",
		bio.ActivationName(c.WeightSplittingActivation), "bio: f applied before weight splitting (identity, relu, relu6, tanh, sigmoid, leaky_relu, gelu, silu, elu)")
	num(&c.FuzzyLearningRateFactorNu, "fuzzy_learning_rate_factor_nu", "ν, the spread of the fuzzy learning-rate factors")
	num(&c.DampeningFactor, "dampening_factor", "δ in (0, 1): crystallized factors are multiplied by it")
	num(&c.CrystalThresh, "crystal_thresh", "θ: a weight crystallizes where |G|/|W| < θ")
	num(&c.RejuvenationParameterDre, "rejuvenation_parameter_dre", "d: the rejuvenation threshold is |N(0, max|W|/d)|")
	integer(&c.WeightSplittingGamma, "weight_splitting_Gamma", "Γ: groups of Γ output units share their summed output (0 or 1: off)")
	num(&c.BaseLR, "base_lr", "base of the volume-dependent learning rate")
	num(&c.StabilityFactor, "stability_factor", "how strongly the volume-dependent rate stabilises large weights")
	num(&c.LRVariability, "lr_variability", "relative std of the volume-dependent factor")
	fs.TextVar(&c.FuzzyLRDistribution, "fuzzy_lr_distribution", c.FuzzyLRDistribution,
		"bio: distribution of the fuzzy factors ("+strings.ToLower(fmt.Sprint(bio.Distributions))+")")
	num(&c.FuzzyLRMin, "fuzzy_lr_min", "lower clamp of the fuzzy factors")
	num(&c.FuzzyLRMax, "fuzzy_lr_max", "upper clamp of the fuzzy factors")
	fs.BoolVar(&c.FuzzyLRDynamic, "fuzzy_lr_dynamic", c.FuzzyLRDynamic, "bio: update temporal and activity factors periodically")
	num(&c.FuzzyLRDecay, "fuzzy_lr_decay", "temporal decay per update")
	integer(&c.FuzzyLRUpdateFreq, "fuzzy_lr_update_freq", "steps between dynamic updates")
	integer(&c.FuzzyLRLayerIndex, "fuzzy_lr_layer_index", "layer index for layer_adaptive (-1: set by the converter)")
	integer(&c.FuzzyLRTotalLayers, "fuzzy_lr_total_layers", "number of layers for layer_adaptive (-1: set by the converter)")
	num(&c.SynapticScalingGamma, "synaptic_scaling_gamma", "γ of synaptic scaling")
	num(&c.SynapticScalingTarget, "synaptic_scaling_target", "target activity (negative: the layer mean)")
	num(&c.SynapticScalingMomentum, "synaptic_scaling_momentum", "decay of the activity moving average")
	num(&c.L1Lambda, "l1_lambda", "λ of the L1 regularisation")
	integer(&c.RejuvenationPeriod, "rejuvenation_period", "run rejuvenation every this many steps")
	fs.TextVar(&c.FactorMode, "factor_mode", c.FactorMode, `bio: where the per-weight factors act: "gradient" or "update"`)
	on(&c.FuzzyLearningRates, "fuzzy_learning_rates", "fuzzy learning rates")
	on(&c.RejuvenateWeights, "rejuvenate_weights", "weight rejuvenation")
	on(&c.Crystallize, "crystallize", "crystallization")
	on(&c.VolumeDependentLR, "volume_dependent_lr", "volume-dependent learning rate")
	on(&c.ScaleGrad, "scale_grad", "synaptic scaling")
	on(&c.L1Reg, "l1_reg", "L1 regularisation")
	on(&c.ApplyDalesPrinciple, "apply_dales_principle", "Dale's principle")
	bf.config = fs.String("config", "", "JSON file with a bio config (reference snake_case keys); explicit flags override it")
	bf.set = fs.String("set", "", `GoMLX-style settings of the bio config, e.g. "bio_fuzzy_learning_rate_factor_nu=0.09;bio_crystallize=true"; applied last`)
	return bf
}

// given returns the bio keys given as flags, sorted ("seed" is the run's flag, not a bio one).
func (bf *bioFlags) given() []string {
	keys := bio.ConfigKeys()
	var given []string
	bf.fs.Visit(func(f *flag.Flag) {
		if f.Name != "seed" && slices.Contains(keys, f.Name) {
			given = append(given, f.Name)
		}
	})
	slices.Sort(given)
	return given
}

// apply returns base updated by -config, then by the explicitly given bio flags, then by -set. Errors name
// the file, flags or setting at fault.
func (bf *bioFlags) apply(base bio.Config) (bio.Config, error) {
	cfg := base
	if *bf.config != "" {
		data, err := os.ReadFile(*bf.config)
		if err != nil {
			return cfg, fmt.Errorf("-config: %w", err)
		}
		m, err := jsonObject(data)
		if err != nil {
			return cfg, fmt.Errorf("-config %q: %w", *bf.config, err)
		}
		if cfg, err = cfg.Update(m); err != nil {
			return cfg, fmt.Errorf("-config %q: %w", *bf.config, err)
		}
	}
	if given := bf.given(); len(given) > 0 {
		all, m := bf.cfg.ToMap(), map[string]any{}
		for _, key := range given {
			m[key] = all[key]
		}
		var err error
		if cfg, err = cfg.Update(m); err != nil {
			return cfg, fmt.Errorf("flags -%s: %w", strings.Join(given, " -"), err)
		}
	}
	if *bf.set != "" {
		ctx := context.New()
		cfg.SetToContext(ctx)
		if _, err := commandline.ParseContextSettings(ctx, *bf.set); err != nil {
			return cfg, fmt.Errorf("-set %q: %w", *bf.set, err)
		}
		var err error
		if cfg, err = cfg.FromContext(ctx); err != nil {
			return cfg, fmt.Errorf("-set %q: %w", *bf.set, err)
		}
	}
	return cfg, nil
}

// anySet reports whether any bio flag, -config or -set was given.
func (bf *bioFlags) anySet() bool {
	return len(bf.given()) > 0 || *bf.config != "" || *bf.set != ""
}
