package experiments

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/datasets/idx"
)

// Variant groups of the comparison.
const (
	// GroupFactorial is the paper's full factorial design rejuvenation × fuzzy learning rates × Γ ∈ {0, 2}.
	GroupFactorial = "factorial"
	// GroupOneAtATime holds the other mechanisms, each added alone to the baseline.
	GroupOneAtATime = "one-at-a-time"
)

// BaselineName is the name of the reference variant: no mechanism, the unconverted model with plain SGD.
const BaselineName = "baseline"

// Variant is one configuration of the comparison.
type Variant struct {
	// Name identifies the variant, e.g. "fuzzy+rejuvenation+Γ2".
	Name string `json:"name"`
	// Group is GroupFactorial or GroupOneAtATime.
	Group string `json:"group"`
	// Bio is nil for the baseline.
	Bio *bio.Config `json:"bio,omitempty"`
	// SplitStepFactor is the runs' RunConfig.SplitStepFactor (the weight-splitting control; 0 otherwise).
	SplitStepFactor float64 `json:"split_step_factor,omitempty"`
}

// PaperBioConfig returns the bio configuration of the paper's experiments: the package defaults with
// ν = 0.09 and d = 14 (rejuvenation every step), every mechanism switched off; variants switch theirs on.
func PaperBioConfig() bio.Config {
	c := bio.DefaultConfig()
	c.FuzzyLearningRateFactorNu = 0.09
	c.RejuvenationParameterDre = 14
	c.RejuvenationPeriod = 1
	c.FuzzyLearningRates, c.RejuvenateWeights, c.Crystallize = false, false, false
	c.VolumeDependentLR, c.ScaleGrad, c.L1Reg, c.ApplyDalesPrinciple = false, false, false, false
	c.WeightSplittingGamma = 0
	return c
}

// DesignVariants returns the comparison's variants built on base (whose mechanism switches are ignored):
// first the 8 factorial variants rejuvenation × fuzzy × Γ ∈ {0, 2}, "baseline" first; then the one-at-a-time
// variants volume-dependent lr, crystallization, Dale's principle and synaptic scaling, each alone.
func DesignVariants(base bio.Config) []Variant {
	off := base
	off.FuzzyLearningRates, off.RejuvenateWeights, off.Crystallize = false, false, false
	off.VolumeDependentLR, off.ScaleGrad, off.L1Reg, off.ApplyDalesPrinciple = false, false, false, false
	off.WeightSplittingGamma = 0
	var vs []Variant
	for _, gamma := range []int{0, 2} {
		for _, rejuv := range []bool{false, true} {
			for _, fuzzy := range []bool{false, true} {
				if gamma == 0 && !rejuv && !fuzzy {
					vs = append(vs, Variant{Name: BaselineName, Group: GroupFactorial})
					continue
				}
				c := off
				c.FuzzyLearningRates, c.RejuvenateWeights, c.WeightSplittingGamma = fuzzy, rejuv, gamma
				var parts []string
				if fuzzy {
					parts = append(parts, "fuzzy")
				}
				if rejuv {
					parts = append(parts, "rejuvenation")
				}
				if gamma > 0 {
					parts = append(parts, fmt.Sprintf("Γ%d", gamma))
				}
				vs = append(vs, Variant{Name: strings.Join(parts, "+"), Group: GroupFactorial, Bio: &c})
			}
		}
	}
	for _, one := range []struct {
		name string
		set  func(c *bio.Config)
	}{
		{"volume_lr", func(c *bio.Config) { c.VolumeDependentLR = true }},
		{"crystallize", func(c *bio.Config) { c.Crystallize = true }},
		{"dale", func(c *bio.Config) { c.ApplyDalesPrinciple = true }},
		{"synaptic_scaling", func(c *bio.Config) { c.ScaleGrad = true }},
	} {
		c := off
		one.set(&c)
		vs = append(vs, Variant{Name: one.name, Group: GroupOneAtATime, Bio: &c})
	}
	return vs
}

// CompareConfig is the design of a comparison.
type CompareConfig struct {
	// Model and Width select the network (see ModelFactory).
	Model string `json:"model"`
	Width int    `json:"width"`
	// Seeds is the number of seeds per variant, FirstSeed the first (seeds FirstSeed, FirstSeed+1, ...).
	Seeds     int   `json:"seeds"`
	FirstSeed int64 `json:"first_seed"`
	// Epochs, LR, BatchSize and EvalEvery are those of every run (see RunConfig).
	Epochs    int     `json:"epochs"`
	LR        float64 `json:"lr"`
	BatchSize int     `json:"batch_size"`
	EvalEvery int     `json:"eval_every"`
	// Split forms the training and validation sets (the paper's 5-fold ShuffleSplit by default).
	Split SplitConfig `json:"split"`
	// Base is the bio configuration the variants are built on (PaperBioConfig by default).
	Base bio.Config `json:"base"`
	// Variants, when not empty, keeps only the variants with these names (the baseline is always kept).
	Variants []string `json:"variants,omitempty"`
	// Parallel is the number of runs executed at once (default runtime.NumCPU()).
	Parallel int `json:"parallel"`
	// Protocol is ProtocolOurs (empty: the variants of DesignVariants) or ProtocolPaper (PaperProtocolVariants).
	Protocol string `json:"protocol,omitempty"`
	// Normalize and StageWidths are those of every run (see RunConfig).
	Normalize   *Normalization `json:"normalize,omitempty"`
	StageWidths []int          `json:"stage_widths,omitempty"`
	// ResultsDir, when not empty, keeps every finished run there, so that a re-run continues (see Compare).
	ResultsDir string `json:"-"`
	// KeepModels, with ResultsDir, also keeps every run's newest checkpoint (saved at every epoch end) and its
	// run.json in ResultsDir/compare-models/<variant>-seed<seed>/, as biotrain train -checkpoint does: for
	// biotrain hessian on the final models, and so that a run killed mid-way continues from its last epoch.
	KeepModels bool `json:"-"`
}

// DefaultCompareConfig is the reduced design for quick runs: FCNet 784-1000-10, 5 seeds, 10 epochs,
// lr DefaultLR (0.05, since 10 epochs at the paper's 1e-3 barely train), batch 100, the paper's split.
func DefaultCompareConfig() CompareConfig {
	return CompareConfig{Model: "fcnet", Width: DefaultFCNetWidth, Seeds: 5, Epochs: 10, LR: DefaultLR,
		BatchSize: DefaultBatchSize, Split: SplitConfig{ValFraction: DefaultValFraction}, Base: PaperBioConfig(),
		Parallel: runtime.NumCPU()}
}

// PaperCompareConfig is the paper's full-size design: FCNet 784-1000-10, 5 seeds (folds), 200 epochs,
// SGD lr 1e-3, batch 100, train+test merged with 10 % validation. (On 2 CPU cores with the Go backend this
// takes weeks; it is here so that the full design is one flag away.)
func PaperCompareConfig() CompareConfig {
	c := DefaultCompareConfig()
	c.Epochs, c.LR = 200, PaperLR
	return c
}

// DemoCompareConfig is a reduced design that runs in a few minutes on 2 CPU cores: FCNet 784-100-10,
// 10,000 training and 1,000 validation images (subsamples of the paper's split), 3 epochs (300 steps),
// 2 seeds, evaluation every 25 steps, lr 0.1 (a few hundred steps at 0.05 stay below 90 %, which would leave
// the steps-to-90 % column empty).
func DemoCompareConfig() CompareConfig {
	c := DefaultCompareConfig()
	c.Width, c.Seeds, c.Epochs, c.EvalEvery, c.LR = 100, 2, 3, 25, 0.1
	c.Split.TrainSize, c.Split.ValSize = 10000, 1000
	return c
}

// Validate returns an error naming the first invalid field.
func (c CompareConfig) Validate() error {
	switch {
	case c.Seeds <= 0:
		return fmt.Errorf("compare: seeds=%d must be > 0", c.Seeds)
	case c.Parallel < 0:
		return fmt.Errorf("compare: parallel=%d must be >= 0", c.Parallel)
	case c.Split.ValFraction < 0 || c.Split.ValFraction >= 1:
		return fmt.Errorf("compare: val_fraction=%g must be in (0, 1)", c.Split.ValFraction)
	case c.Split.TrainSize < 0:
		return fmt.Errorf("compare: train_size=%d must be >= 0", c.Split.TrainSize)
	case c.Split.ValSize < 0:
		return fmt.Errorf("compare: val_size=%d must be >= 0", c.Split.ValSize)
	}
	if c.Protocol != "" && !slices.Contains(Protocols, c.Protocol) {
		return fmt.Errorf("compare: protocol=%q is unknown (known: %s)", c.Protocol, strings.Join(Protocols, ", "))
	}
	probe := RunConfig{Variant: "compare", Model: c.Model, Width: c.Width, Epochs: c.Epochs, LR: c.LR,
		BatchSize: c.BatchSize, EvalEvery: c.EvalEvery, Bio: &c.Base, Normalize: c.Normalize, StageWidths: c.StageWidths}
	return probe.Validate()
}

// SelectedVariants returns the protocol's variants (DesignVariants(c.Base), or PaperProtocolVariants(c.Base)
// for ProtocolPaper) filtered by c.Variants (the baseline always first), or an error naming an unknown variant.
func (c CompareConfig) SelectedVariants() ([]Variant, error) {
	all := DesignVariants(c.Base)
	if c.Protocol == ProtocolPaper {
		all = PaperProtocolVariants(c.Base)
	}
	if len(c.Variants) == 0 {
		return all, nil
	}
	keep := map[string]bool{BaselineName: true}
	for _, name := range c.Variants {
		name = strings.TrimSpace(name)
		found := false
		for _, v := range all {
			if v.Name == name {
				found = true
			}
		}
		if !found {
			var names []string
			for _, v := range all {
				names = append(names, v.Name)
			}
			return nil, fmt.Errorf("compare: unknown variant %q (known: %s)", name, strings.Join(names, ", "))
		}
		keep[name] = true
	}
	var out []Variant
	for _, v := range all {
		if keep[v.Name] {
			out = append(out, v)
		}
	}
	return out, nil
}

// CompareResult holds every run of a comparison.
type CompareResult struct {
	Config   CompareConfig `json:"config"`
	Variants []Variant     `json:"variants"`
	// Runs are ordered by variant (in Variants order), then seed.
	Runs []*RunResult `json:"runs"`
	// WallSeconds is the duration of the whole comparison.
	WallSeconds float64 `json:"wall_seconds"`
	// Started is the start time (RFC 3339).
	Started string `json:"started"`
}

// Compare runs every variant of cfg with every seed, cfg.Parallel runs at a time (each with its own backend),
// on splits of the official train and test sets made by Split. A failed run is recorded (RunResult.Error) and
// does not stop the others; Compare returns an error only for an invalid design or when every run failed.
// log, when not nil, receives one line per finished run.
//
// With cfg.ResultsDir, every finished run is written there as it finishes, and a comparison re-run with the
// same folder (e.g. after being killed) keeps those runs and does only the rest; a different design under
// the same folder is an error (see OpenResultStore).
func Compare(cfg CompareConfig, trainSet, testSet *idx.Dataset, opts RunOptions, log io.Writer) (*CompareResult, error) {
	if cfg.Parallel == 0 {
		cfg.Parallel = runtime.NumCPU()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	variants, err := cfg.SelectedVariants()
	if err != nil {
		return nil, err
	}
	design := struct {
		CompareConfig
		// SplitIndices names how the split indices are drawn, so that results of an earlier algorithm
		// under the same folder are not mixed in.
		SplitIndices string `json:"split_indices"`
	}{cfg, ShuffleSplitIndices}
	design.Parallel = 0 // does not change the results
	store, err := OpenResultStore(cfg.ResultsDir, "compare", design)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	start := time.Now()
	res := &CompareResult{Config: cfg, Variants: variants, Started: start.Format(time.RFC3339)}
	splits := make([][2]*idx.Dataset, cfg.Seeds) // The data of each seed, shared (read-only) by all variants.
	for s := range splits {
		if splits[s][0], splits[s][1], err = Split(trainSet, testSet, cfg.Split, cfg.FirstSeed+int64(s)); err != nil {
			return nil, err
		}
	}
	jobs := cfg.runConfigs(variants)
	res.Runs = make([]*RunResult, len(jobs))
	runOpts := opts
	runOpts.Progress, runOpts.Checkpoint, runOpts.Resume, runOpts.Log = false, "", false, nil
	var mu sync.Mutex
	done, failed := 0, 0
	ForEach(len(jobs), cfg.Parallel, func(i int) {
		rc, name := jobs[i], fmt.Sprintf("%s-seed%d", jobs[i].Variant, jobs[i].Seed)
		r, kept := &RunResult{}, true
		if !store.Load(name, r) {
			ro, err := cfg.modelOptions(runOpts, rc, name)
			if err == nil {
				r, err = Run(rc, splits[rc.Seed-cfg.FirstSeed][0], splits[rc.Seed-cfg.FirstSeed][1], ro)
			}
			if err != nil {
				r = &RunResult{Config: rc, Error: err.Error()}
			} else if err := store.Save(name, r); err != nil {
				r.Error = fmt.Sprintf("writing the result: %v", err)
			}
			kept = false
		}
		mu.Lock()
		defer mu.Unlock()
		res.Runs[i] = r
		done++
		if r.Error != "" {
			failed++
		}
		logRun(log, r, kept, done, len(jobs), start)
	})
	res.WallSeconds = time.Since(start).Seconds()
	if failed == len(jobs) {
		return res, fmt.Errorf("compare: all %d runs failed; first error: %s", len(jobs), res.Runs[0].Error)
	}
	return res, nil
}

// ModelsDir is the folder, under CompareConfig.ResultsDir, of the runs' checkpoints kept with KeepModels.
const ModelsDir = "compare-models"

// modelOptions returns the options of run rc (named name): opts itself, or with KeepModels its checkpoint
// folder (created, with the run.json that biotrain train and hessian read), resumed if it holds checkpoints.
func (c CompareConfig) modelOptions(opts RunOptions, rc RunConfig, name string) (RunOptions, error) {
	if !c.KeepModels || c.ResultsDir == "" {
		return opts, nil
	}
	dir := filepath.Join(c.ResultsDir, ModelsDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return opts, err
	}
	data, err := json.MarshalIndent(map[string]any{"run": rc, "split": c.Split}, "", "  ")
	if err != nil {
		return opts, err
	}
	if err := writeFileAtomic(filepath.Join(dir, "run.json"), data); err != nil {
		return opts, err
	}
	opts.Checkpoint, opts.Resume, opts.KeepCheckpoints, opts.SaveEvery = dir, true, 1, 0
	return opts, nil
}

// runConfigs lists the runs of the comparison: every variant with every seed, variant-major.
func (c CompareConfig) runConfigs(variants []Variant) []RunConfig {
	var runs []RunConfig
	for _, v := range variants {
		for s := range c.Seeds {
			rc := RunConfig{Variant: v.Name, Model: c.Model, Width: c.Width, Seed: c.FirstSeed + int64(s),
				Epochs: c.Epochs, LR: c.LR, BatchSize: c.BatchSize, EvalEvery: c.EvalEvery, Normalize: c.Normalize,
				StageWidths: c.StageWidths, SplitStepFactor: v.SplitStepFactor}
			if v.Bio != nil {
				b := *v.Bio
				b.Seed = rc.Seed
				rc.Bio = &b
			}
			runs = append(runs, rc)
		}
	}
	return runs
}

// logRun writes the line of a finished (or kept) run.
func logRun(log io.Writer, r *RunResult, kept bool, done, total int, start time.Time) {
	switch {
	case log == nil:
	case r.Error != "":
		_, _ = fmt.Fprintf(log, "[%d/%d] %s seed %d FAILED: %s\n", done, total, r.Config.Variant, r.Config.Seed, r.Error)
	case kept:
		_, _ = fmt.Fprintf(log, "[%d/%d] %s seed %d: val acc %.4f (kept from an earlier, interrupted comparison)\n",
			done, total, r.Config.Variant, r.Config.Seed, r.FinalAccuracy)
	default:
		_, _ = fmt.Fprintf(log, "[%d/%d] %s seed %d: val acc %.4f, %d steps, %.1f ms/step, %.0f s (elapsed %s)\n",
			done, total, r.Config.Variant, r.Config.Seed, r.FinalAccuracy, r.Steps, r.MedianStepMs, r.WallSeconds,
			time.Since(start).Round(time.Second))
	}
}
