package inversion

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/experiments"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// ExperimentConfig is the design of the privacy experiment: victims of every variant and seed are trained
// on the training set, and at each snapshot step attacked on batches of held-out images.
type ExperimentConfig struct {
	// Model and Width select the victim network (experiments.PaperModels).
	Model string `json:"model"`
	Width int    `json:"width"`
	// Variants names the variants of experiments.DesignVariants(Base) to attack; the baseline is always in.
	Variants []string `json:"variants"`
	// Base is the bio configuration the variants are built on (experiments.PaperBioConfig by default).
	Base bio.Config `json:"base"`
	// Seeds victims per variant, seeded FirstSeed, FirstSeed+1, …
	Seeds     int   `json:"seeds"`
	FirstSeed int64 `json:"first_seed"`
	// Snapshots are the training steps at which the victims are attacked (0: freshly initialised), ascending.
	Snapshots []int `json:"snapshots"`
	// BatchSizes are the sizes of the attacked batches; Batches is the number attacked per size and snapshot.
	BatchSizes []int `json:"batch_sizes"`
	Batches    int   `json:"batches"`
	// LR and TrainBatchSize are the victims' SGD learning rate and training batch size.
	LR             float64 `json:"lr"`
	TrainBatchSize int     `json:"train_batch_size"`
	// EvalSize is the number of held-out images on which each snapshot's accuracy is measured.
	EvalSize int `json:"eval_size"`
	// Attack configures the attack; its Seed and Observe are replaced per attacked batch.
	Attack Config `json:"attack"`
	// Observations are the gradients the attacker observes, each attacked separately (see Observation).
	Observations []Observation `json:"observations"`
	// Labels is how the attacker obtains the attacked batch's labels: LabelsKnown (also the empty value,
	// which designs written before this field hold) or LabelsIDLG.
	Labels LabelMode `json:"labels,omitempty"`
	// Normalize, when set, standardises the victims' inputs inside the model graph (experiments.RunConfig's
	// Normalize; the paper's protocol: experiments.MNISTNormalization). The attacker still optimises pixels
	// in [Attack.Min, Attack.Max], which the victim's graph standardises like its training inputs.
	Normalize *experiments.Normalization `json:"normalize,omitempty"`
	// StageWidths, when set, are a ResNet victim's three stage widths instead of Width's multiplier
	// (experiments.RunConfig's StageWidths; the paper's protocol: the authors' 6-12-24 on MNIST).
	StageWidths []int `json:"stage_widths,omitempty"`
	// Protocol is empty for this project's designs or experiments.ProtocolPaper for
	// PaperProtocolExperimentConfig's; it labels the report.
	Protocol string `json:"protocol,omitempty"`
	// Parallel is the number of victims handled at once (0: runtime.NumCPU()).
	Parallel int `json:"parallel"`
	// ResultsDir, when not empty, keeps the records of every finished victim there, so that an experiment
	// re-run with the same folder (e.g. after being killed) attacks only the other victims; a different
	// design under the same folder is an error (see experiments.OpenResultStore).
	ResultsDir string `json:"-"`
}

// DefaultVariants are the variants attacked by default: the baseline, each factorial mechanism alone and
// all three together.
var DefaultVariants = []string{experiments.BaselineName, "fuzzy", "rejuvenation", "Γ2", "fuzzy+rejuvenation+Γ2"}

// DefaultExperimentConfig is a reduced version of the paper's design on MNIST that runs in about ten
// minutes on 2 cores: FCNet 784-100-10, 2 seeds, snapshots at 0 and 300 steps, batches of 1 and 4, 2 batches
// each, 300 attack iterations.
func DefaultExperimentConfig() ExperimentConfig {
	a := DefaultConfig()
	a.Iterations = 300
	return ExperimentConfig{Model: "fcnet", Width: 100, Variants: DefaultVariants, Base: experiments.PaperBioConfig(),
		Seeds: 2, Snapshots: []int{0, 300}, BatchSizes: []int{1, 4}, Batches: 2, LR: experiments.DefaultLR,
		TrainBatchSize: experiments.DefaultBatchSize, EvalSize: 1000, Attack: a,
		Observations: []Observation{ObserveGradient, ObserveUpdate}, Labels: LabelsKnown, Parallel: runtime.NumCPU()}
}

// PaperExperimentConfig is the paper's design (on MNIST instead of CIFAR-100): FCNet 784-1000-10, 5 seeds,
// batches of 2, 4 and 8, 5 batches each, 7000 attack iterations; the snapshots are in steps (the paper's
// epochs 0/50/100/200 at lr 1e-3 are far longer than CPU time allows).
func PaperExperimentConfig() ExperimentConfig {
	c := DefaultExperimentConfig()
	c.Width, c.Seeds, c.Batches = experiments.DefaultFCNetWidth, 5, 5
	c.Snapshots, c.BatchSizes = []int{0, 600, 3000}, []int{2, 4, 8}
	c.Attack.Iterations = 7000
	return c
}

// PaperAttackDre is the rejuvenation parameter d of the authors' attacked victims: 8 (their training
// experiments use 14; shared/PAPER-PROTOCOL.md, section 3).
const PaperAttackDre = 8

// PaperSnapshots are the steps of the authors' victim checkpoints, after epochs 1, 51, 101 and 201 (their
// epoch indices 0, 50, 100, 200), in steps of MNIST's 60 000 training images in batches of 100.
var PaperSnapshots = []int{600, 30600, 60600, 120600}

// PaperProtocolExperimentConfig is the privacy experiment with the authors' victims and attack
// (experiments.ProtocolPaper; shared/PAPER-PROTOCOL.md, section 3), on MNIST instead of CIFAR-100: plain SGD
// lr 1e-3, batch 100, inputs standardised with MNIST's mean 0.1307 and std 0.3081 inside the model graph,
// ν 0.09, d PaperAttackDre with rejuvenation every step, snapshots PaperSnapshots, batches of 2, 4 and 8
// held-out images, 5 each, Geiping et al.'s attack as the authors ran it (signed Adam lr 0.1, TV 1e-6,
// 7000 iterations, the cosine cost, labels known), the plain gradient observed, FCNet 784-1000-10
// (Width 0, the paper's size). For the authors' ResNets set Model and StageWidths =
// experiments.PaperStageWidths() (6-12-24 on MNIST).
//
// Differences from the authors: they trained one victim per configuration (here Seeds 5, seeds 0…4),
// attacked only Γ = 0 (here DefaultVariants, which include Γ2; choose fuzzy,rejuvenation,fuzzy+rejuvenation
// for theirs), attacked the first training batches (here random held-out images), fed unnormalised images
// to the victim, started from Gaussian noise, stopped after 1000 iterations without improvement and took
// the victim's gradient with BatchNorm in training mode (here both the victim's and the attacker's gradient
// use BatchNorm's running statistics).
func PaperProtocolExperimentConfig() ExperimentConfig {
	c := DefaultExperimentConfig()
	c.Protocol = experiments.ProtocolPaper
	c.Width, c.Seeds, c.FirstSeed, c.Batches = 0, 5, 0, 5
	c.LR, c.TrainBatchSize = experiments.PaperLR, experiments.DefaultBatchSize
	norm := experiments.MNISTNormalization
	c.Normalize = &norm
	c.Base = experiments.PaperBioConfig()
	c.Base.RejuvenationParameterDre = PaperAttackDre
	c.Snapshots, c.BatchSizes = slices.Clone(PaperSnapshots), []int{2, 4, 8}
	c.Attack = DefaultConfig()
	c.Attack.Iterations = 7000
	c.Observations = []Observation{ObserveGradient}
	c.Labels = LabelsKnown
	return c
}

// Validate returns an error naming the first invalid field.
func (c ExperimentConfig) Validate() error {
	switch {
	case c.Seeds <= 0:
		return fmt.Errorf("attack: seeds=%d must be > 0", c.Seeds)
	case len(c.Snapshots) == 0 || !slices.IsSorted(c.Snapshots) || c.Snapshots[0] < 0:
		return fmt.Errorf("attack: snapshots=%v must be ascending training steps >= 0", c.Snapshots)
	case len(c.BatchSizes) == 0 || slices.Min(c.BatchSizes) <= 0:
		return fmt.Errorf("attack: batch_sizes=%v must be sizes > 0", c.BatchSizes)
	case c.Batches <= 0:
		return fmt.Errorf("attack: batches=%d must be > 0", c.Batches)
	case !(c.LR > 0):
		return fmt.Errorf("attack: lr=%g must be > 0", c.LR)
	case c.TrainBatchSize <= 0:
		return fmt.Errorf("attack: train_batch_size=%d must be > 0", c.TrainBatchSize)
	case c.EvalSize < 0:
		return fmt.Errorf("attack: eval_size=%d must be >= 0", c.EvalSize)
	case c.Parallel < 0:
		return fmt.Errorf("attack: parallel=%d must be >= 0", c.Parallel)
	}
	if err := c.Attack.Validate(); err != nil {
		return err
	}
	if len(c.Observations) == 0 {
		return fmt.Errorf("attack: observations is empty: want %q and/or %q", ObserveGradient, ObserveUpdate)
	}
	for _, o := range c.Observations {
		probe := c.Attack
		probe.Observe = o
		if err := probe.Validate(); err != nil {
			return err
		}
	}
	if err := c.Base.Validate(); err != nil {
		return fmt.Errorf("attack: base bio config: %w", err)
	}
	if err := c.Labels.Validate(); err != nil {
		return err
	}
	if c.Normalize != nil {
		if err := c.Normalize.Validate(); err != nil {
			return fmt.Errorf("attack: %w", err)
		}
	}
	if _, err := experiments.PaperModels(c.Model, c.Width); err != nil {
		return err
	}
	if len(c.StageWidths) > 0 {
		if _, err := experiments.ResNetWithStageWidths(c.Model, c.StageWidths); err != nil {
			return fmt.Errorf("attack: stage_widths: %w", err)
		}
	}
	_, err := c.selected()
	return err
}

// selected returns the chosen variants, the baseline first.
func (c ExperimentConfig) selected() ([]experiments.Variant, error) {
	cc := experiments.CompareConfig{Base: c.Base, Variants: c.Variants}
	vs, err := cc.SelectedVariants()
	if err != nil {
		return nil, fmt.Errorf("attack: %w", err)
	}
	return vs, nil
}

// MaxPSNR caps the recorded PSNR (dB): a perfect reconstruction's is infinite, which averages and JSON
// cannot hold.
const MaxPSNR = 100

// Record is one attacked batch.
type Record struct {
	Variant   string `json:"variant"`
	Seed      int64  `json:"seed"`
	Step      int    `json:"step"`
	BatchSize int    `json:"batch_size"`
	Batch     int    `json:"batch"`
	// Observe is the gradient the attacker observed.
	Observe Observation `json:"observe"`
	// Indices are the attacked test images, Labels their labels.
	Indices []int   `json:"indices"`
	Labels  []int32 `json:"labels"`
	// VictimAccuracy is the victim's accuracy on the first EvalSize test images at this snapshot.
	VictimAccuracy float64 `json:"victim_accuracy"`
	// BestObjective and FinalObjective are the attack's lowest and last objective.
	BestObjective  float64 `json:"best_objective"`
	FinalObjective float64 `json:"final_objective"`
	// MatchingCost is the authors' metric (shared/PAPER-PROTOCOL.md, section 3: inversefed's stats['opt'] with
	// scoring "loss"): the gradient-matching cost 1 − cos between the gradient of the returned reconstruction
	// and the observed one, without the TV prior. 0 in records written before it existed.
	MatchingCost float64 `json:"matching_cost"`
	// MSE and PSNR of each original image against its matched reconstruction (pixels in [0, 1]).
	MSE  []float64 `json:"mse"`
	PSNR []float64 `json:"psnr"`
	// SSIM of each original image against its matched reconstruction (see SSIM, data range Attack.Max −
	// Attack.Min). Absent in records written before it existed.
	SSIM []float64 `json:"ssim,omitempty"`
	// InferredLabels are the labels the attacker inferred and used under LabelsIDLG (as IDLGLabels orders
	// them), LabelsCorrect the fraction of Labels they recover as a multiset (see LabelsCorrect); both are
	// absent when the labels were known.
	InferredLabels []int32  `json:"inferred_labels,omitempty"`
	LabelsCorrect  *float64 `json:"labels_correct,omitempty"`
	// Reconstruction holds the matched reconstructions (in the order of Indices), kept for the first batch of
	// each (variant, seed, step, batch size) only, for the picture.
	Reconstruction []float32 `json:"reconstruction,omitempty"`
	Seconds        float64   `json:"seconds"`
}

// ExperimentResult holds every attacked batch of an experiment.
type ExperimentResult struct {
	Config   ExperimentConfig      `json:"config"`
	Variants []experiments.Variant `json:"variants"`
	Records  []*Record             `json:"records"`
	// Originals holds the pixels of the attacked test images of the pictured batches (Batch 0), by index.
	Originals map[int][]float32 `json:"originals,omitempty"`
	// Errors lists the victims that failed (the others are reported).
	Errors      []string `json:"errors,omitempty"`
	WallSeconds float64  `json:"wall_seconds"`
}

// attackIndices picks the images of batch k of size bs for a seed: the same for every variant, so that the
// variants are compared on identical images.
func attackIndices(n int, seed int64, bs, k int) []int {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(bs*1000+k)))
	return rng.Perm(n)[:bs]
}

// Run trains the victims and attacks them. Images are attacked from testSet (held out from training);
// victims train on trainSet. The attack's ImageShape is taken from the data (rows × cols × 1). log, when not
// nil, receives a line per attacked batch. A victim that fails is listed in Errors; Run returns an error
// for an invalid design or when every victim failed.
func Run(cfg ExperimentConfig, trainSet, testSet *idx.Dataset, log io.Writer) (*ExperimentResult, error) {
	if cfg.Parallel == 0 {
		cfg.Parallel = runtime.NumCPU()
	}
	if trainSet == nil || testSet == nil || trainSet.Rows != testSet.Rows || trainSet.Cols != testSet.Cols {
		return nil, fmt.Errorf("attack: need training and test sets with images of the same size")
	}
	// MNIST-format images are single-channel rows × cols.
	cfg.Attack.ImageShape = [3]int{testSet.Rows, testSet.Cols, 1}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	variants, _ := cfg.selected()
	if m := slices.Max(cfg.BatchSizes); m > testSet.N {
		return nil, fmt.Errorf("attack: batch size %d is larger than the %d test images", m, testSet.N)
	}
	design := cfg
	design.Parallel = 0 // does not change the results
	if design.Labels == LabelsKnown {
		design.Labels = "" // as designs written before the field existed, so that their folders still resume
	}
	store, err := experiments.OpenResultStore(cfg.ResultsDir, "attack", design)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	start := time.Now()
	res := &ExperimentResult{Config: cfg, Variants: variants}
	type job struct {
		v    experiments.Variant
		seed int64
	}
	var jobs []job
	for _, v := range variants {
		for s := range cfg.Seeds {
			jobs = append(jobs, job{v, cfg.FirstSeed + int64(s)})
		}
	}
	records := make([][]*Record, len(jobs))
	errs := make([]error, len(jobs))
	logRecord := recordLogger(log)
	experiments.ForEach(len(jobs), cfg.Parallel, func(i int) {
		j := jobs[i]
		name := fmt.Sprintf("%s-seed%d", j.v.Name, j.seed)
		if store.Load(name, &records[i]) {
			for _, r := range records[i] {
				logRecord(r)
			}
			return
		}
		records[i], errs[i] = runVictim(cfg, j.v, j.seed, trainSet, testSet, logRecord)
		if errs[i] == nil {
			errs[i] = store.Save(name, records[i])
		}
	})
	res.collect(records, errs, testSet)
	res.WallSeconds = time.Since(start).Seconds()
	if len(res.Records) == 0 {
		return nil, fmt.Errorf("attack: every victim failed: %s", strings.Join(res.Errors, "; "))
	}
	return res, nil
}

// collect adds the victims' records (or errors) to res, with the original images of the attacked batches.
func (res *ExperimentResult) collect(records [][]*Record, errs []error, testSet *idx.Dataset) {
	for i, rs := range records {
		if errs[i] != nil {
			res.Errors = append(res.Errors, errs[i].Error())
			continue
		}
		res.Records = append(res.Records, rs...)
		for _, r := range rs {
			if r.Batch != 0 {
				continue
			}
			if res.Originals == nil {
				res.Originals = map[int][]float32{}
			}
			for _, i := range r.Indices {
				res.Originals[i] = slices.Clone(testSet.Image(i))
			}
		}
	}
}

// recordLogger returns a function that writes a line per record to log (nothing when log is nil); it may
// be called from several goroutines.
func recordLogger(log io.Writer) func(*Record) {
	var mu sync.Mutex
	return func(r *Record) {
		if log == nil {
			return
		}
		labels := ""
		if r.LabelsCorrect != nil {
			labels = fmt.Sprintf(", iDLG labels %.0f %% right", 100**r.LabelsCorrect)
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintf(log, "%s seed %d step %d, %s, batch size %d #%d: victim acc %.3f, objective %.3g, PSNR %s dB, SSIM %s%s (%.0f s)\n",
			r.Variant, r.Seed, r.Step, r.Observe, r.BatchSize, r.Batch, r.VictimAccuracy, r.BestObjective, formatList(r.PSNR, "%.1f"),
			formatList(r.SSIM, "%.2f"), labels, r.Seconds)
	}
}

func formatList(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, ", ")
}

// runVictim trains one victim and attacks it at every snapshot. Panics of graph building become errors.
func runVictim(cfg ExperimentConfig, v experiments.Variant, seed int64, trainSet, testSet *idx.Dataset, report func(*Record)) (records []*Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("attack: victim %s seed %d: %v", v.Name, seed, r)
		}
	}()
	run := experiments.RunConfig{Variant: v.Name, Model: cfg.Model, Width: cfg.Width, Seed: seed, LR: cfg.LR,
		BatchSize: cfg.TrainBatchSize, Normalize: cfg.Normalize, StageWidths: cfg.StageWidths}
	if v.Bio != nil {
		b := *v.Bio
		b.Seed = seed
		run.Bio = &b
	}
	t, err := experiments.NewTrainer(run, experiments.RunOptions{BackendConfig: BackendConfig})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	t.TrainMetrics, t.EvalMetrics = nil, nil
	backend, ctx, modelFn := t.Backend, t.Context, t.Model
	ctx.SetRNGStateFromSeed(seed)
	conv, _ := t.Mechanisms.(*bio.Converter)
	// One forward pass creates the model's variables, so that every later graph can reuse them; the converted
	// layers' fuzzy factors (otherwise created by the optimizer's first step) are created with them, for
	// attacks on the freshly initialised victim.
	if err := createVariables(backend, ctx, conv, modelFn, testSet); err != nil {
		return nil, fmt.Errorf("attack: victim %s seed %d: %w", v.Name, seed, err)
	}
	trainer := t.Build(ctx.Reuse())
	batches, err := experiments.NewTrainBatches("train", trainSet, cfg.TrainBatchSize, seed)
	if err != nil {
		return nil, err
	}
	evalN := min(cfg.EvalSize, testSet.N)
	accExec, err := context.NewExec(backend, ctx.Reuse(), func(ctx *context.Context, x, labels *Node) *Node {
		logits := modelFn(ctx, nil, []*Node{x})[0]
		hit := Equal(ConvertDType(ArgMax(logits, -1), labels.DType()), Reshape(labels, -1))
		return ReduceAllMean(ConvertDType(hit, logits.DType()))
	})
	if err != nil {
		return nil, err
	}
	victim := Victim{Backend: backend, Context: ctx, Model: modelFn, Converter: conv}
	step := 0
	for _, snap := range cfg.Snapshots {
		for ; step < snap; step++ {
			_, inputs, labels, err := batches.Yield()
			if err != nil {
				return nil, err
			}
			if _, err := trainer.TrainStep(nil, inputs, labels); err != nil {
				return nil, fmt.Errorf("attack: victim %s seed %d: training step %d: %w", v.Name, seed, step, err)
			}
		}
		acc, err := snapshotAccuracy(accExec, testSet, evalN)
		if err != nil {
			return nil, err
		}
		rs, err := attackSnapshot(cfg, victim, v.Name, seed, snap, acc, testSet, report)
		if err != nil {
			return nil, err
		}
		records = append(records, rs...)
	}
	return records, nil
}

// snapshotAccuracy measures the victim's accuracy on the first evalN test images.
func snapshotAccuracy(accExec *context.Exec, testSet *idx.Dataset, evalN int) (float64, error) {
	if evalN <= 0 {
		return 0, nil
	}
	sub, err := testSet.Subset("eval", seq(evalN))
	if err != nil {
		return 0, err
	}
	out, err := accExec.Exec(sub.ImagesTensor(), sub.LabelsTensor())
	if err != nil {
		return 0, err
	}
	return float64(tensors.ToScalar[float32](out[0])), nil
}

// attackSnapshot attacks every batch of every size with every observation of the victim at one snapshot.
func attackSnapshot(cfg ExperimentConfig, victim Victim, variant string, seed int64, snap int, acc float64,
	testSet *idx.Dataset, report func(*Record)) (records []*Record, err error) {
	// Every observation is attacked, also the update of a victim without fuzzy learning rates (where it
	// equals the gradient): the two paths are then checked against each other (TestExperiment).
	for _, obs := range cfg.Observations {
		acfg := cfg.Attack
		acfg.Observe = obs
		a, err := NewAttack(victim, acfg)
		if err != nil {
			return nil, err
		}
		for _, bs := range cfg.BatchSizes {
			for k := range cfg.Batches {
				r, err := attackBatch(a, testSet, seed, bs, k, cfg.Labels)
				if err != nil {
					return nil, fmt.Errorf("attack: victim %s seed %d step %d: %w", variant, seed, snap, err)
				}
				r.Variant, r.Step, r.Observe, r.VictimAccuracy = variant, snap, obs, acc
				records = append(records, r)
				report(r)
			}
		}
	}
	return records, nil
}

// attackBatch attacks batch k of size bs of a seed, with the labels known or inferred (mode).
func attackBatch(a *Attack, testSet *idx.Dataset, seed int64, bs, k int, mode LabelMode) (*Record, error) {
	t0 := time.Now()
	ids := attackIndices(testSet.N, seed, bs, k)
	batch, err := testSet.Subset("attacked", ids)
	if err != nil {
		return nil, err
	}
	labels := batch.LabelsTensor()
	observed, err := a.Observe(batch.ImagesTensor(), labels)
	if err != nil {
		return nil, err
	}
	r := &Record{Seed: seed, BatchSize: bs, Batch: k, Indices: ids, Labels: batch.Labels}
	if mode == LabelsIDLG {
		if labels, err = a.InferLabels(observed, bs); err != nil {
			return nil, err
		}
		r.InferredLabels = tensors.MustCopyFlatData[int32](labels)
		correct := LabelsCorrect(r.Labels, r.InferredLabels)
		r.LabelsCorrect = &correct
	}
	// The random start depends on the seed and the batch only, so every variant starts from the same images.
	a.cfg.Seed = uint64(seed)*7919 + uint64(bs*1000+k)
	out, err := a.Reconstruct(labels, observed)
	if err != nil {
		return nil, err
	}
	cost, _, err := a.Objective(tensors.FromFlatDataAndDimensions(out.Images, bs, batch.Features()), labels, observed)
	if err != nil {
		return nil, err
	}
	r.BestObjective, r.FinalObjective, r.MatchingCost = out.BestObjective, out.FinalObjective, cost
	if err := r.score(batch.Images, out.Images, a.cfg, k == 0); err != nil {
		return nil, err
	}
	r.Seconds = time.Since(t0).Seconds()
	return r, nil
}

// score matches the reconstructions to the originals (see Match) and records each pair's MSE, PSNR and
// SSIM, and when keep is set the matched reconstructions.
func (r *Record) score(original, reconstructed []float32, cfg Config, keep bool) error {
	perm, mse, err := Match(original, reconstructed, r.BatchSize)
	if err != nil {
		return err
	}
	r.MSE = mse
	dataRange, f := cfg.Max-cfg.Min, len(original)/r.BatchSize
	for i, j := range perm {
		r.PSNR = append(r.PSNR, min(PSNR(mse[i], dataRange), MaxPSNR))
		s, err := SSIM(original[i*f:(i+1)*f], reconstructed[j*f:(j+1)*f], cfg.ImageShape, dataRange)
		if err != nil {
			return err
		}
		r.SSIM = append(r.SSIM, s)
		if keep {
			r.Reconstruction = append(r.Reconstruction, reconstructed[j*f:(j+1)*f]...)
		}
	}
	return nil
}

// createVariables runs the model once on ctx and creates the converted layers' fuzzy factors.
func createVariables(backend backends.Backend, ctx *context.Context, conv *bio.Converter, modelFn train.ModelFn, data *idx.Dataset) error {
	probe, err := data.Subset("probe", []int{0})
	if err != nil {
		return err
	}
	if _, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, x *Node) *Node {
		return modelFn(ctx, nil, []*Node{x})[0]
	}, probe.ImagesTensor()); err != nil {
		return fmt.Errorf("creating the model's variables: %w", err)
	}
	if conv == nil {
		return nil
	}
	if err := conv.CreateState(backend, ctx); err != nil {
		return fmt.Errorf("creating the bio state: %w", err)
	}
	return nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
