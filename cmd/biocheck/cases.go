package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/models"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// checkCase is one configuration of the mechanisms.
type checkCase struct {
	name string
	// set switches the case's mechanisms on in a configuration with every mechanism off.
	set func(cfg *bio.Config)
	// drawsEveryStep: the case draws random numbers at every step, so after the first step the two backends
	// can only agree in distribution.
	drawsEveryStep bool
}

func (c checkCase) kind() string {
	if c.drawsEveryStep {
		return "distribution"
	}
	return "deterministic"
}

var checkCases = []checkCase{
	{name: "none", set: func(*bio.Config) {}},
	{name: "fuzzy", set: func(c *bio.Config) { c.FuzzyLearningRates = true }},
	{name: "rejuvenation", set: func(c *bio.Config) { c.RejuvenateWeights = true }, drawsEveryStep: true},
	{name: "volume", set: func(c *bio.Config) { c.VolumeDependentLR = true }, drawsEveryStep: true},
	{name: "crystallize", set: func(c *bio.Config) { c.Crystallize = true }},
	{name: "scaling", set: func(c *bio.Config) { c.ScaleGrad = true }},
	{name: "dale", set: func(c *bio.Config) { c.ApplyDalesPrinciple = true }},
	{name: "l1", set: func(c *bio.Config) { c.L1Reg = true }},
	{name: "split", set: func(c *bio.Config) { c.WeightSplittingGamma = 2 }},
	{name: "all", set: setAll, drawsEveryStep: true},
}

func setAll(c *bio.Config) {
	c.Mechanisms = bio.Mechanisms{FuzzyLearningRates: true, RejuvenateWeights: true, Crystallize: true,
		VolumeDependentLR: true, ScaleGrad: true, L1Reg: true, ApplyDalesPrinciple: true}
	c.WeightSplittingGamma = 2
}

func caseNames() []string {
	names := make([]string, len(checkCases))
	for i, c := range checkCases {
		names[i] = c.name
	}
	return names
}

func caseByName(name string) (checkCase, bool) {
	for _, c := range checkCases {
		if c.name == name {
			return c, true
		}
	}
	return checkCase{}, false
}

// CaseReport is the outcome of one case.
type CaseReport struct {
	Case string `json:"case"`
	Kind string `json:"kind"`
	// InitIdenticalVariables counts the variables that came out bit-identical after the independent
	// initialisations (all of them only if the RNG bits are identical across backends).
	InitIdenticalVariables int                 `json:"init_identical_variables"`
	Init                   []VarComparison     `json:"init"`
	Steps                  []VarComparison     `json:"steps"`
	Losses                 [2][]float64        `json:"losses"`
	Telemetry              [2][]bio.LayerStats `json:"telemetry"`
	Failures               []string            `json:"failures,omitempty"`
	Seconds                float64             `json:"seconds"`
}

// session is a model, converter and trainer on one backend.
type session struct {
	ctx     *context.Context
	conv    *bio.Converter
	trainer *train.Trainer
}

func newSession(o *options, c checkCase, backend backends.Backend, ctx *context.Context) (*session, error) {
	cfg := bio.DefaultConfig()
	cfg.Mechanisms = bio.Mechanisms{}
	cfg.Seed = o.seed
	cfg.BaseLR = 1 // the volume factor divides the learning rate by ~10 with the default 0.1
	c.set(&cfg)
	conv, err := bio.NewConverter(cfg)
	if err != nil {
		return nil, err
	}
	model := models.FCNetConfig{Hidden: []int{o.width}, NumClasses: 10}.ModelFn
	opt := conv.Optimizer(optimizers.StochasticGradientDescent().WithLearningRate(o.lr).Done())
	trainer := train.NewTrainer(backend, ctx, conv.Convert(model), losses.SparseCategoricalCrossEntropyLogits,
		opt, nil, nil)
	return &session{ctx: ctx, conv: conv, trainer: trainer}, nil
}

func (s *session) step(x, y *tensors.Tensor) (float64, error) {
	ms, err := s.trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
	if err != nil {
		return 0, err
	}
	return toFloat64(ms[0].Value()), nil
}

// runCase runs the init and the steps comparison of one case.
func runCase(o *options, c checkCase, ref, target backends.Backend) (*CaseReport, error) {
	start := time.Now()
	cr := &CaseReport{Case: c.name, Kind: c.kind()}
	// Init: each backend initialises from the same seed and trains one step. A tensor on a backend cannot
	// be used on another one: each backend gets its own copy of the batch.
	var inits [2]*session
	for i, b := range []backends.Backend{ref, target} {
		x, y := fcnetBatch(o.batch, uint64(o.seed))
		s, err := newSession(o, c, b, seededContext(o.seed))
		if err != nil {
			return nil, err
		}
		if _, err := s.step(x, y); err != nil {
			return nil, fmt.Errorf("first step on %s: %w", b.Name(), err)
		}
		inits[i] = s
	}
	cr.Init = compareContexts(inits[0].ctx, inits[1].ctx, true, defaultTolerances)
	for _, vc := range cr.Init {
		if vc.Identical {
			cr.InitIdenticalVariables++
		}
		if !vc.OK {
			cr.Failures = append(cr.Failures, fmt.Sprintf("%s init %s: %s", c.name, vc.Variable, vc.Why))
		}
	}
	if err := runSteps(o, c, inits[0], target, cr); err != nil {
		return nil, err
	}
	cr.Seconds = time.Since(start).Seconds()
	return cr, nil
}

// runSteps clones the reference session's state to target and trains both o.steps steps.
func runSteps(o *options, c checkCase, refSession *session, target backends.Backend, cr *CaseReport) error {
	ctx, err := cloneToLocal(refSession.ctx)
	if err != nil {
		return err
	}
	other, err := newSession(o, c, target, ctx.Reuse())
	if err != nil {
		return err
	}
	sessions := [2]*session{refSession, other}
	var batches [2][2]*tensors.Tensor
	for i := range batches {
		batches[i][0], batches[i][1] = fcnetBatch(o.batch, uint64(o.seed))
	}
	for range o.steps {
		for i, s := range sessions {
			loss, err := s.step(batches[i][0], batches[i][1])
			if err != nil {
				return fmt.Errorf("step on backend %d: %w", i, err)
			}
			cr.Losses[i] = append(cr.Losses[i], loss)
		}
	}
	for i, s := range sessions {
		stats, err := s.conv.Telemetry(s.ctx)
		if err != nil {
			return fmt.Errorf("telemetry: %w", err)
		}
		cr.Telemetry[i] = stats
	}
	cr.Steps = compareContexts(sessions[0].ctx, sessions[1].ctx, c.drawsEveryStep, defaultTolerances)
	for _, vc := range cr.Steps {
		if !vc.OK {
			cr.Failures = append(cr.Failures, fmt.Sprintf("%s steps %s: %s", c.name, vc.Variable, vc.Why))
		}
	}
	cr.Failures = append(cr.Failures, checkLossesAndTelemetry(c, cr, refSession.ctx, defaultTolerances)...)
	return nil
}

// cloneToLocal clones ctx with every variable's value copied to local memory, detached from the backend
// it was computed on, so that the clone can be used on another backend.
func cloneToLocal(ctx *context.Context) (*context.Context, error) {
	clone, err := ctx.Clone()
	if err != nil {
		return nil, err
	}
	for v := range clone.IterVariables() {
		value, err := v.Value()
		if err != nil {
			return nil, err
		}
		local, err := value.LocalClone()
		if err != nil {
			return nil, err
		}
		if err := v.SetValue(local); err != nil {
			return nil, err
		}
	}
	return clone, nil
}

func seededContext(seed int64) *context.Context {
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, seed)
	return ctx
}

// fcnetBatch is a fixed random batch: inputs N(0,1) [batch, 784], labels [batch, 1] in 0…9.
func fcnetBatch(batch int, seed uint64) (*tensors.Tensor, *tensors.Tensor) {
	r := rand.New(rand.NewPCG(seed, 784))
	x := make([]float32, batch*784)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(r.IntN(10))
	}
	return tensors.FromFlatDataAndDimensions(x, batch, 784), tensors.FromFlatDataAndDimensions(y, batch, 1)
}
