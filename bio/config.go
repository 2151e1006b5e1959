package bio

import "fmt"

// Distribution selects how the per-weight fuzzy learning-rate factors are drawn.
// The names (case-insensitive) are those of the reference package's Distribution enum.
type Distribution string

// The fuzzy learning-rate distributions. See METHODS.md and the doc comment of each for the exact rule.
const (
	// Baseline draws s = 1 for every weight (fuzzy learning rates without diversity).
	Baseline Distribution = "baseline"
	// Uniform draws s = 1 + ν(2u − 1), u ~ U[0, 1): the paper's rule and the default.
	Uniform Distribution = "uniform"
	// Normal draws s = 1 + N(0, ν).
	Normal Distribution = "normal"
	// LogNormal draws s = exp(N(−ν²/2, ν)), whose mean is 1.
	LogNormal Distribution = "lognormal"
	// Gamma draws s ~ Gamma(shape 1/ν², scale ν²): mean 1, std ν. (The reference's 1 + Gamma(1/ν, 1/ν)
	// has mean 2, a defect we do not copy.)
	Gamma Distribution = "gamma"
	// Beta draws s = 1 + ν(2·Beta(1/ν, 1/ν) − 1): symmetric around 1 within [1 − ν, 1 + ν].
	Beta Distribution = "beta"
	// LayerAdaptive draws Uniform with ν_l = ν(1 − 0.5·l/L) for layer l of L (deeper layers vary less).
	LayerAdaptive Distribution = "layer_adaptive"
	// WeightAdaptive draws Uniform with ν_ij = ν·clamp(2 − |W_ij|/mean|W|, 0.5, 1.5), using the weights at
	// the first training step (large weights vary less).
	WeightAdaptive Distribution = "weight_adaptive"
	// Temporal draws Uniform, then every FuzzyLRUpdateFreq steps decays s ← 1 + (s − 1)·FuzzyLRDecay.
	Temporal Distribution = "temporal"
	// Activity draws Uniform, then every FuzzyLRUpdateFreq steps re-draws the factors of each output unit j
	// with spread ν_j = ν·clamp(2 − a_j/mean(a), 0.5, 1.5), where a_j is the unit's activity (running mean
	// of |y_j|): units more active than the layer mean get factors closer to 1.
	Activity Distribution = "activity"
)

// Distributions lists every accepted Distribution, in the reference's order.
var Distributions = []Distribution{Baseline, Uniform, Normal, LogNormal, Gamma, Beta, LayerAdaptive,
	WeightAdaptive, Temporal, Activity}

// FactorMode selects where the fuzzy, volume-dependent and crystallization factors act.
type FactorMode string

const (
	// FactorsOnGradient multiplies the gradient before the optimizer sees it: the reference's behaviour, and
	// under plain SGD identical to a per-weight learning rate. Under Adam, RMSProp or Adamax a constant
	// per-weight factor cancels out (they normalise each gradient entry by its own running magnitude).
	FactorsOnGradient FactorMode = "gradient"
	// FactorsOnUpdate multiplies the optimizer's update (new − old weight) instead: a true per-weight
	// learning rate for any optimizer, Adam included.
	FactorsOnUpdate FactorMode = "update"
)

// Config holds every parameter of the reference package's BioConfig, with the same defaults, plus the
// parameters of the mechanisms the reference documented but did not implement (synaptic scaling, L1),
// scheduling (which mechanisms run each step, rejuvenation period) and a seed.
//
// JSON and map keys are the reference's snake_case names (see the `json` tags), so a Python config dict
// works unchanged. Context parameter keys are the same names with the prefix "bio_" (see ParamPrefix).
// Validate lists the allowed range of every field; ConfigFromMap, ConfigFromJSON, ToMap and Update read and
// write the reference's dict form, SetToContext and ConfigFromContext the context parameters.
type Config struct {
	// WeightSplittingActivation is f applied to a layer's output before weight splitting: "identity"
	// (default), "relu", "relu6", "tanh", "sigmoid", "leaky_relu", "gelu", "silu" or "elu".
	WeightSplittingActivation string `json:"weight_splitting_activation_function"`
	// FuzzyLearningRateFactorNu is ν, the spread of the fuzzy learning-rate factors. Default 0.16.
	FuzzyLearningRateFactorNu float64 `json:"fuzzy_learning_rate_factor_nu"`
	// DampeningFactor is δ ∈ (0, 1): crystallized factors are multiplied by it. Default 0.6.
	DampeningFactor float64 `json:"dampening_factor"`
	// CrystalThresh is θ: a weight crystallizes where |G|/|W| < θ. Default 4.5e-5.
	CrystalThresh float64 `json:"crystal_thresh"`
	// RejuvenationParameterDre is d: the rejuvenation threshold is |N(0, max|W|/d)|. Default 8.0.
	RejuvenationParameterDre float64 `json:"rejuvenation_parameter_dre"`
	// WeightSplittingGamma is Γ: groups of Γ output units share their summed output. 0 or 1 disables it.
	WeightSplittingGamma int `json:"weight_splitting_Gamma"`
	// BaseLR is the base of the volume-dependent learning rate μ = BaseLR·exp(−StabilityFactor·v). Default 0.1.
	BaseLR float64 `json:"base_lr"`
	// StabilityFactor is how strongly larger weights are stabilised. Default 2.0.
	StabilityFactor float64 `json:"stability_factor"`
	// LRVariability is the relative std of the volume-dependent factor. Default 0.2.
	LRVariability float64 `json:"lr_variability"`

	// FuzzyLRDistribution is the distribution of the fuzzy factors. Default Uniform.
	FuzzyLRDistribution Distribution `json:"fuzzy_lr_distribution"`
	// FuzzyLRMin and FuzzyLRMax clamp every fuzzy factor. Defaults 0.5 and 2.0.
	FuzzyLRMin float64 `json:"fuzzy_lr_min"`
	FuzzyLRMax float64 `json:"fuzzy_lr_max"`
	// FuzzyLRDynamic enables the periodic update of Temporal and Activity factors. Default false.
	FuzzyLRDynamic bool `json:"fuzzy_lr_dynamic"`
	// FuzzyLRDecay is the Temporal decay per update. Default 0.9995.
	FuzzyLRDecay float64 `json:"fuzzy_lr_decay"`
	// FuzzyLRUpdateFreq is the number of steps between dynamic updates. Default 100.
	FuzzyLRUpdateFreq int `json:"fuzzy_lr_update_freq"`
	// FuzzyLRLayerIndex and FuzzyLRTotalLayers override the layer position used by LayerAdaptive; -1 (the
	// default) means "set by the converter" from the order of the converted layers.
	FuzzyLRLayerIndex  int `json:"fuzzy_lr_layer_index"`
	FuzzyLRTotalLayers int `json:"fuzzy_lr_total_layers"`

	// SynapticScalingGamma is γ of synaptic scaling (scale_grad). Default 1e-3.
	SynapticScalingGamma float64 `json:"synaptic_scaling_gamma"`
	// SynapticScalingTarget is the target activity F_T; a negative value (default −1) uses the layer mean.
	SynapticScalingTarget float64 `json:"synaptic_scaling_target"`
	// SynapticScalingMomentum is the decay of the activity moving average. Default 0.99.
	SynapticScalingMomentum float64 `json:"synaptic_scaling_momentum"`
	// L1Lambda is λ of the L1 regularisation λ·Σ|W| added to the loss. Default 1e-5 (used when L1 is enabled).
	L1Lambda float64 `json:"l1_lambda"`
	// RejuvenationPeriod runs rejuvenation every that many steps (1 = every step, the paper's loop). Default 1.
	RejuvenationPeriod int `json:"rejuvenation_period"`
	// FactorMode is where the per-weight factors act: "gradient" (default, the reference) or "update".
	FactorMode FactorMode `json:"factor_mode"`

	// Mechanisms are the switches: which mechanisms run. Its fields are promoted (cfg.FuzzyLearningRates)
	// and its keys sit at the top level of the JSON and map forms, as in the reference's dict.
	Mechanisms

	// Seed seeds every draw of the library (factors, signs, rejuvenation, volume noise). Default 42.
	Seed int64 `json:"seed"`
}

// Mechanisms are the switches of the mechanisms, one per mechanism, named as the mechanism's methods
// (Converter.Crystallize, Layer.Crystallize, ...) and keyed by the reference's names. The
// zero value switches every mechanism off (cfg.Mechanisms = bio.Mechanisms{}), and two sets compare with ==.
// Weight splitting has no switch: it is on when Config.WeightSplittingGamma > 1.
type Mechanisms struct {
	// FuzzyLearningRates multiplies every weight's gradient by its fixed factor s (fuzzy.go).
	FuzzyLearningRates bool `json:"fuzzy_learning_rates"`
	// RejuvenateWeights replaces small weights by fresh draws every RejuvenationPeriod steps (rejuvenate.go).
	RejuvenateWeights bool `json:"rejuvenate_weights"`
	// Crystallize dampens the factors of weights whose gradient is tiny or very large (crystallize.go).
	Crystallize bool `json:"crystallize"`
	// VolumeDependentLR multiplies the gradient by fresh factors that shrink with |W| (volume.go).
	VolumeDependentLR bool `json:"volume_dependent_lr"`
	// ScaleGrad adds the homeostatic term to the gradient (scalegrad.go).
	ScaleGrad bool `json:"scale_grad"`
	// L1Reg adds λ·Σ|W| to the loss: its value through Convert, its gradient λ·sign(W) in the step
	// (l1reg.go).
	L1Reg bool `json:"l1_reg"`
	// ApplyDalesPrinciple initialises the weights with one sign per input unit and projects them back onto
	// those signs after every update (dale.go).
	ApplyDalesPrinciple bool `json:"apply_dales_principle"`
}

// DefaultConfig returns the reference package's defaults (BioConfig()) plus this library's extras.
func DefaultConfig() Config {
	return Config{
		WeightSplittingActivation: "identity",
		FuzzyLearningRateFactorNu: 0.16,
		DampeningFactor:           0.6,
		CrystalThresh:             4.5e-5,
		RejuvenationParameterDre:  8.0,
		WeightSplittingGamma:      0,
		BaseLR:                    0.1,
		StabilityFactor:           2.0,
		LRVariability:             0.2,
		FuzzyLRDistribution:       Uniform,
		FuzzyLRMin:                0.5,
		FuzzyLRMax:                2.0,
		FuzzyLRDynamic:            false,
		FuzzyLRDecay:              0.9995,
		FuzzyLRUpdateFreq:         100,
		FuzzyLRLayerIndex:         -1,
		FuzzyLRTotalLayers:        -1,
		SynapticScalingGamma:      1e-3,
		SynapticScalingTarget:     -1,
		SynapticScalingMomentum:   0.99,
		L1Lambda:                  1e-5,
		RejuvenationPeriod:        1,
		FactorMode:                FactorsOnGradient,
		Mechanisms:                Mechanisms{FuzzyLearningRates: true, RejuvenateWeights: true},
		Seed:                      42,
	}
}

// String gives a compact one-line description of the enabled mechanisms, for logs.
func (c Config) String() string {
	return fmt.Sprintf("bio.Config{fuzzy=%v(ν=%g,%s) rejuvenation=%v(dre=%g,every %d) crystallize=%v volume=%v Γ=%d dale=%v scaling=%v l1=%v mode=%s seed=%d}",
		c.FuzzyLearningRates, c.FuzzyLearningRateFactorNu, c.FuzzyLRDistribution, c.RejuvenateWeights,
		c.RejuvenationParameterDre, c.RejuvenationPeriod, c.Crystallize, c.VolumeDependentLR,
		c.WeightSplittingGamma, c.ApplyDalesPrinciple, c.ScaleGrad, c.L1Reg, c.FactorMode, c.Seed)
}
