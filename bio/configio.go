package bio

// Reading, writing and validating a Config: from a map or JSON object with the reference package's
// snake_case names (BioConverter.from_dict / get_config / update_config), and to and from GoMLX context
// parameters ("bio_" + the same names), so that `-set bio_<name>=<value>` on the command line works.
//
// Values are decoded per key by encoding/json into the field itself (the enums through their
// UnmarshalText), so each bad key gives its own *ConfigFieldError and every problem is reported at once.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/context"
)

// ParamPrefix is the prefix of context-parameter keys: "bio_" + the reference snake_case name.
// E.g. the context parameter of Config.DampeningFactor is ParamDampeningFactor, "bio_dampening_factor".
const ParamPrefix = "bio_"

// The context-parameter keys of the Config fields, one per field (ParamPrefix + the field's json key), as
// read by Config.FromContext and written by Config.SetToContext; e.g. on the command line of a GoMLX
// program: -set "bio_fuzzy_learning_rate_factor_nu=0.09;bio_crystallize=true".
const (
	ParamWeightSplittingActivation = "bio_weight_splitting_activation_function" // Config.WeightSplittingActivation
	ParamFuzzyLearningRateFactorNu = "bio_fuzzy_learning_rate_factor_nu"        // Config.FuzzyLearningRateFactorNu
	ParamDampeningFactor           = "bio_dampening_factor"                     // Config.DampeningFactor
	ParamCrystalThresh             = "bio_crystal_thresh"                       // Config.CrystalThresh
	ParamRejuvenationParameterDre  = "bio_rejuvenation_parameter_dre"           // Config.RejuvenationParameterDre
	ParamWeightSplittingGamma      = "bio_weight_splitting_Gamma"               // Config.WeightSplittingGamma
	ParamBaseLR                    = "bio_base_lr"                              // Config.BaseLR
	ParamStabilityFactor           = "bio_stability_factor"                     // Config.StabilityFactor
	ParamLRVariability             = "bio_lr_variability"                       // Config.LRVariability
	ParamFuzzyLRDistribution       = "bio_fuzzy_lr_distribution"                // Config.FuzzyLRDistribution
	ParamFuzzyLRMin                = "bio_fuzzy_lr_min"                         // Config.FuzzyLRMin
	ParamFuzzyLRMax                = "bio_fuzzy_lr_max"                         // Config.FuzzyLRMax
	ParamFuzzyLRDynamic            = "bio_fuzzy_lr_dynamic"                     // Config.FuzzyLRDynamic
	ParamFuzzyLRDecay              = "bio_fuzzy_lr_decay"                       // Config.FuzzyLRDecay
	ParamFuzzyLRUpdateFreq         = "bio_fuzzy_lr_update_freq"                 // Config.FuzzyLRUpdateFreq
	ParamFuzzyLRLayerIndex         = "bio_fuzzy_lr_layer_index"                 // Config.FuzzyLRLayerIndex
	ParamFuzzyLRTotalLayers        = "bio_fuzzy_lr_total_layers"                // Config.FuzzyLRTotalLayers
	ParamSynapticScalingGamma      = "bio_synaptic_scaling_gamma"               // Config.SynapticScalingGamma
	ParamSynapticScalingTarget     = "bio_synaptic_scaling_target"              // Config.SynapticScalingTarget
	ParamSynapticScalingMomentum   = "bio_synaptic_scaling_momentum"            // Config.SynapticScalingMomentum
	ParamL1Lambda                  = "bio_l1_lambda"                            // Config.L1Lambda
	ParamRejuvenationPeriod        = "bio_rejuvenation_period"                  // Config.RejuvenationPeriod
	ParamFactorMode                = "bio_factor_mode"                          // Config.FactorMode
	ParamFuzzyLearningRates        = "bio_fuzzy_learning_rates"                 // Config.FuzzyLearningRates
	ParamRejuvenation              = "bio_rejuvenate_weights"                   // Config.RejuvenateWeights
	ParamCrystallization           = "bio_crystallize"                          // Config.Crystallize
	ParamVolumeDependentLR         = "bio_volume_dependent_lr"                  // Config.VolumeDependentLR
	ParamSynapticScaling           = "bio_scale_grad"                           // Config.ScaleGrad
	ParamL1Regularization          = "bio_l1_reg"                               // Config.L1Reg
	ParamApplyDalesPrinciple       = "bio_apply_dales_principle"                // Config.ApplyDalesPrinciple
	ParamSeed                      = "bio_seed"                                 // Config.Seed
)

// Keys with their own treatment: an alias ("fuzzy_lr_layer_total", the name in the reference's issue text)
// and the activation, whose null means identity.
const (
	cfgKeyAlias      = "fuzzy_lr_layer_total"
	cfgKeyActivation = "weight_splitting_activation_function"
)

// cfgField describes one field of Config, discovered from its json tag.
type cfgField struct {
	name  string // json tag: the reference's snake_case name.
	index []int  // field index in Config (reflect.Value.FieldByIndex), through the embedded Mechanisms.
	want  string // what a value must be, for type errors.
}

// cfgFields lists the fields of Config in declaration order; cfgFieldByName indexes them by name.
var cfgFields, cfgFieldByName = cfgBuildFields()

func cfgBuildFields() ([]cfgField, map[string]cfgField) {
	var fields []cfgField
	byName := make(map[string]cfgField)
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || name == "" || name == "-" || !f.IsExported() {
			continue // the embedded Mechanisms: its fields are visited themselves
		}
		cf := cfgField{name: name, index: f.Index, want: "a string"}
		switch {
		case f.Type == reflect.TypeFor[Distribution]():
			cf.want = "one of " + cfgJoin(Distributions)
		case f.Type == reflect.TypeFor[FactorMode]():
			cf.want = fmt.Sprintf("%q or %q", FactorsOnGradient, FactorsOnUpdate)
		case name == cfgKeyActivation:
			cf.want = "one of " + cfgJoin(activationNames)
		case f.Type.Kind() == reflect.Bool:
			cf.want = "true or false"
		case f.Type.Kind() == reflect.Float64:
			cf.want = "a number"
		case f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int64:
			cf.want = "a whole number"
		}
		fields = append(fields, cf)
		byName[name] = cf
	}
	return fields, byName
}

func cfgJoin[T ~string](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// ConfigKeys returns the accepted keys (the reference's snake_case names), in Config's field order.
// The alias "fuzzy_lr_layer_total" (for "fuzzy_lr_total_layers") is accepted too but not listed.
func ConfigKeys() []string {
	keys := make([]string, len(cfgFields))
	for i, f := range cfgFields {
		keys[i] = f.name
	}
	return keys
}

// ConfigFieldError is the error for one bad configuration value: the field (the reference's name, or the
// context parameter's name), the value given and the rule it breaks. Validate, ConfigFromMap,
// ConfigFromJSON, Update and FromContext return one, or several joined with errors.Join; use errors.As to
// inspect them.
type ConfigFieldError struct {
	Field string // Reference (json) name of the field, the context parameter, or the unknown key.
	Value any    // Offending value.
	Rule  string // What is required, e.g. "must be in (0, 1)".
}

// Error formats as `bio: dampening_factor = 1.5: must be in (0, 1)`.
func (e *ConfigFieldError) Error() string {
	var value string
	switch x := e.Value.(type) {
	case nil:
		value = "null"
	case string, Distribution, FactorMode:
		value = fmt.Sprintf("%q", x)
	case float32:
		value = strconv.FormatFloat(float64(x), 'g', -1, 32)
	default:
		value = fmt.Sprint(x)
	}
	field := e.Field
	if field == "" {
		field = `""`
	}
	return fmt.Sprintf("bio: %s = %s: %s", field, value, e.Rule)
}

func cfgErr(field string, value any, format string, args ...any) error {
	return &ConfigFieldError{Field: field, Value: value, Rule: fmt.Sprintf(format, args...)}
}

// UnmarshalText implements encoding.TextUnmarshaler (so encoding/json and flag.TextVar parse the name). Names
// are case-insensitive; the Python enum spelling "Distribution.UNIFORM" and "-" for "_" are accepted.
func (d *Distribution) UnmarshalText(text []byte) error {
	name := Distribution(cfgEnumName(string(text)))
	if !slices.Contains(Distributions, name) {
		return cfgErr("fuzzy_lr_distribution", string(text), "must be one of %s", cfgJoin(Distributions))
	}
	*d = name
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Distribution) MarshalText() ([]byte, error) { return []byte(d), nil }

// ParseDistribution parses a distribution name, as Distribution.UnmarshalText does.
func ParseDistribution(s string) (Distribution, error) {
	var d Distribution
	err := d.UnmarshalText([]byte(s))
	return d, err
}

// UnmarshalText implements encoding.TextUnmarshaler: "gradient" or "update", case-insensitively (also
// "FactorMode.GRADIENT").
func (m *FactorMode) UnmarshalText(text []byte) error {
	mode := FactorMode(cfgEnumName(string(text)))
	if mode != FactorsOnGradient && mode != FactorsOnUpdate {
		return cfgErr("factor_mode", string(text), "must be %q or %q", FactorsOnGradient, FactorsOnUpdate)
	}
	*m = mode
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (m FactorMode) MarshalText() ([]byte, error) { return []byte(m), nil }

// cfgEnumName normalises an enum name: lower case, no Python class prefix ("Distribution."), "_" for "-".
func cfgEnumName(s string) string {
	name := strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return strings.ReplaceAll(name, "-", "_")
}

// uniformBased reports whether distribution d draws s = 1 + ν·(something in [−1, 1]), so that ν > 1 would
// give negative factors.
func (d Distribution) uniformBased() bool {
	switch d {
	case Uniform, Beta, LayerAdaptive, WeightAdaptive, Temporal, Activity:
		return true
	}
	return false
}

// Validate checks every field against its allowed range and returns nil or the problems found (each a
// *ConfigFieldError naming the field by its reference name, joined with errors.Join). Every float must be
// finite. The ranges:
//
//   - fuzzy_learning_rate_factor_nu ≥ 0, and ≤ 1 for the distributions built on 1 + ν·[−1, 1] (uniform,
//     beta, layer_adaptive, weight_adaptive, temporal, activity), where ν > 1 would give negative factors.
//   - dampening_factor ∈ (0, 1); crystal_thresh ≥ 0; rejuvenation_parameter_dre > 0.
//   - weight_splitting_Gamma ≥ 0 (0 and 1 disable it); base_lr, stability_factor, lr_variability ≥ 0.
//   - fuzzy_lr_min > 0, fuzzy_lr_max ≥ fuzzy_lr_min; fuzzy_lr_decay ∈ (0, 1]; fuzzy_lr_update_freq ≥ 1.
//   - fuzzy_lr_layer_index ≥ −1; fuzzy_lr_total_layers = −1 or ≥ 1; index < total when both are set.
//   - synaptic_scaling_gamma ≥ 0; synaptic_scaling_target < 0 (layer mean) or ≥ 0;
//     synaptic_scaling_momentum ∈ [0, 1); l1_lambda ≥ 0; rejuvenation_period ≥ 1.
//   - factor_mode is "gradient" or "update"; weight_splitting_activation_function is one of identity, relu,
//     relu6, tanh, sigmoid, leaky_relu, gelu, silu, elu (see ActivationByName); fuzzy_lr_distribution is one
//     of Distributions.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, name string, value any, format string, args ...any) {
		if !ok {
			errs = append(errs, cfgErr(name, value, format, args...))
		}
	}
	nuOK, nuRule := c.FuzzyLearningRateFactorNu >= 0, "must be ≥ 0"
	if c.FuzzyLRDistribution.uniformBased() {
		nuOK, nuRule = nuOK && c.FuzzyLearningRateFactorNu <= 1,
			fmt.Sprintf("must be in [0, 1] for distribution %q", c.FuzzyLRDistribution)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	floats := []struct {
		name string
		v    float64
		ok   bool
		rule string
	}{
		{"fuzzy_learning_rate_factor_nu", c.FuzzyLearningRateFactorNu, nuOK, nuRule},
		{"dampening_factor", c.DampeningFactor, c.DampeningFactor > 0 && c.DampeningFactor < 1, "must be in (0, 1)"},
		{"crystal_thresh", c.CrystalThresh, c.CrystalThresh >= 0, "must be ≥ 0"},
		{"rejuvenation_parameter_dre", c.RejuvenationParameterDre, c.RejuvenationParameterDre > 0, "must be > 0"},
		{"base_lr", c.BaseLR, c.BaseLR >= 0, "must be ≥ 0"},
		{"stability_factor", c.StabilityFactor, c.StabilityFactor >= 0, "must be ≥ 0"},
		{"lr_variability", c.LRVariability, c.LRVariability >= 0, "must be ≥ 0"},
		{"fuzzy_lr_min", c.FuzzyLRMin, c.FuzzyLRMin > 0, "must be > 0"},
		{"fuzzy_lr_max", c.FuzzyLRMax, c.FuzzyLRMax >= c.FuzzyLRMin || !finite(c.FuzzyLRMin),
			fmt.Sprintf("must be ≥ fuzzy_lr_min (%g)", c.FuzzyLRMin)},
		{"fuzzy_lr_decay", c.FuzzyLRDecay, c.FuzzyLRDecay > 0 && c.FuzzyLRDecay <= 1, "must be in (0, 1]"},
		{"synaptic_scaling_gamma", c.SynapticScalingGamma, c.SynapticScalingGamma >= 0, "must be ≥ 0"},
		{"synaptic_scaling_target", c.SynapticScalingTarget, true, ""},
		{"synaptic_scaling_momentum", c.SynapticScalingMomentum,
			c.SynapticScalingMomentum >= 0 && c.SynapticScalingMomentum < 1, "must be in [0, 1)"},
		{"l1_lambda", c.L1Lambda, c.L1Lambda >= 0, "must be ≥ 0"},
	}
	for _, f := range floats {
		if !finite(f.v) {
			check(false, f.name, f.v, "must be a finite number")
		} else {
			check(f.ok, f.name, f.v, "%s", f.rule)
		}
	}
	check(c.WeightSplittingGamma >= 0, "weight_splitting_Gamma", c.WeightSplittingGamma,
		"must be ≥ 0 (0 or 1 disables weight splitting)")
	check(c.FuzzyLRUpdateFreq >= 1, "fuzzy_lr_update_freq", c.FuzzyLRUpdateFreq, "must be ≥ 1")
	check(c.RejuvenationPeriod >= 1, "rejuvenation_period", c.RejuvenationPeriod, "must be ≥ 1")
	indexOK, totalOK := c.FuzzyLRLayerIndex >= -1, c.FuzzyLRTotalLayers == -1 || c.FuzzyLRTotalLayers >= 1
	check(indexOK, "fuzzy_lr_layer_index", c.FuzzyLRLayerIndex, "must be ≥ 0, or -1 (set by the converter)")
	check(totalOK, "fuzzy_lr_total_layers", c.FuzzyLRTotalLayers, "must be ≥ 1, or -1 (set by the converter)")
	check(!indexOK || !totalOK || c.FuzzyLRLayerIndex < 0 || c.FuzzyLRTotalLayers < 1 ||
		c.FuzzyLRLayerIndex < c.FuzzyLRTotalLayers, "fuzzy_lr_layer_index", c.FuzzyLRLayerIndex,
		"must be < fuzzy_lr_total_layers (%d)", c.FuzzyLRTotalLayers)
	_, activationOK := normalizeActivationName(c.WeightSplittingActivation)
	check(activationOK, cfgKeyActivation, c.WeightSplittingActivation, "must be one of %s", cfgJoin(activationNames))
	check(slices.Contains(Distributions, c.FuzzyLRDistribution), "fuzzy_lr_distribution", c.FuzzyLRDistribution,
		"must be one of %s", cfgJoin(Distributions))
	check(c.FactorMode == FactorsOnGradient || c.FactorMode == FactorsOnUpdate, "factor_mode", c.FactorMode,
		"must be %q or %q", FactorsOnGradient, FactorsOnUpdate)
	return errors.Join(errs...)
}

// ConfigFromMap returns DefaultConfig() with the given keys applied, validated: the equivalent of the
// reference's BioConverter.from_dict. Keys are the reference's snake_case names (see ConfigKeys; the alias
// "fuzzy_lr_layer_total" is accepted); values may be Go numbers of any type (ints must be whole: 2.0 is fine,
// 2.5 is not), bools, json.Number, or strings for the names (distribution, factor mode, activation).
// weight_splitting_activation_function may be nil (identity). Unknown keys are errors naming the key.
// On error it returns the zero Config and all the problems found (bad types and names, unknown keys, and
// the range checks of Validate on the fields that could be set).
func ConfigFromMap(m map[string]any) (Config, error) {
	c, err := DefaultConfig().Update(m)
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// ConfigFromJSON is ConfigFromMap for a JSON object, e.g. json.dumps of a Python config dict.
func ConfigFromJSON(data []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // Keep large integers (seeds) exact.
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return Config{}, fmt.Errorf("bio: config JSON: %w", err)
	}
	if m == nil {
		return Config{}, errors.New("bio: config JSON: must be an object, got null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, errors.New("bio: config JSON: unexpected data after the object")
	}
	return ConfigFromMap(m)
}

// ToMap returns the configuration as reference names → values (the reference's get_config), with plain Go
// types: float64, int, int64 (seed), bool and string (distribution, factor mode and activation name).
// ConfigFromMap(c.ToMap()) returns c, and json.Marshal of the map gives a dict Python can read.
func (c Config) ToMap() map[string]any {
	v := reflect.ValueOf(c)
	m := make(map[string]any, len(cfgFields))
	for _, f := range cfgFields {
		fv := v.FieldByIndex(f.index)
		switch fv.Kind() {
		case reflect.Int:
			m[f.name] = int(fv.Int())
		case reflect.String:
			m[f.name] = fv.String()
		default: // float64, int64, bool
			m[f.name] = fv.Interface()
		}
	}
	return m
}

// Update returns a copy of c with the keys of m applied and validated (the reference's update_config); see
// ConfigFromMap for the accepted keys and values. On error it returns c itself, unchanged, and every problem
// found (unknown keys, bad types, out-of-range values).
func (c Config) Update(m map[string]any) (Config, error) {
	return c.update(m, "")
}

// update is Update with errors naming prefix + the key (prefix is ParamPrefix for context parameters).
func (c Config) update(m map[string]any, prefix string) (Config, error) {
	updated := c
	var errs []error
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	for _, key := range keys {
		name := key
		if key == cfgKeyAlias {
			name = "fuzzy_lr_total_layers"
			if _, both := m[name]; both {
				errs = append(errs, cfgErr(prefix+key, m[key], "is an alias of %q, which is also given: give only one", prefix+name))
				continue
			}
		}
		f, ok := cfgFieldByName[name]
		if !ok {
			errs = append(errs, cfgUnknownKeyError(prefix+key, m[key], prefix))
			continue
		}
		if err := updated.setField(f, m[key]); err != nil {
			rule, unsupported := "must be "+f.want, &json.UnsupportedValueError{}
			if errors.As(err, &unsupported) {
				rule = "must be a finite number" // NaN and ±Inf
			}
			errs = append(errs, cfgErr(prefix+f.name, m[key], "%s", rule))
		}
	}
	// Fields that failed to parse kept their previous value, so Validate reports only the other problems.
	if err := updated.Validate(); err != nil {
		var fe *ConfigFieldError
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			if errors.As(e, &fe) {
				e = cfgErr(prefix+fe.Field, fe.Value, "%s", fe.Rule)
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return updated, nil
}

// setField decodes value into field f of c with encoding/json (the enums through their UnmarshalText), so
// that a value of the wrong type, a non-whole or overflowing int, a NaN or an unknown name is an error.
// It does not check ranges (Validate does).
func (c *Config) setField(f cfgField, value any) error {
	ptr := reflect.ValueOf(c).Elem().FieldByIndex(f.index).Addr().Interface()
	if f.name == cfgKeyActivation {
		if value == nil {
			value = "identity"
		}
		ptr = (*ActivationName)(ptr.(*string))
	}
	if value == nil {
		return errors.New("null") // json would leave the field as it is.
	}
	if n, ok := value.(json.Number); ok && f.want == "a whole number" {
		if x, err := n.Float64(); err == nil && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			value = int64(x) // Python's 2.0 for an int.
		}
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, ptr)
}

// cfgUnknownKeyError names the unknown key and lists the valid ones. prefix is "" for map/JSON keys and
// ParamPrefix for context parameters.
func cfgUnknownKeyError(key string, value any, prefix string) error {
	rule := "unknown key; valid keys: " + strings.Join(ConfigKeys(), ", ")
	if prefix != "" {
		rule = fmt.Sprintf("unknown key; valid keys are %q followed by one of: %s", prefix, strings.Join(ConfigKeys(), ", "))
	}
	return &ConfigFieldError{Field: key, Value: value, Rule: rule}
}

// SetToContext sets the context parameter of every field (ParamPrefix + its key, e.g. ParamDampeningFactor)
// in ctx's current scope, with plain types (float64, int, int64 for the seed, bool, string) that GoMLX
// checkpoints save and restore and that commandline.ParseContextSettings can parse.
//
// Call it on the root context to define the defaults before parsing the command line:
//
//	cfg := bio.DefaultConfig()
//	cfg.SetToContext(ctx)
//	settings := commandline.CreateContextSettingsFlag(ctx, "")
//	flag.Parse()
//	_, err := commandline.ParseContextSettings(ctx, *settings) // e.g. -set "bio_fuzzy_learning_rate_factor_nu=0.09"
//	cfg, err = cfg.FromContext(ctx)
//
// (ParseContextSettings only accepts parameters that exist in the root scope, and parses the new value to
// the type of the existing one.) Scoped settings such as "/layer_1/bio_dampening_factor=0.5" are then seen
// by cfg.FromContext(ctx.In("layer_1")).
func (c Config) SetToContext(ctx *context.Context) {
	for name, value := range c.ToMap() {
		ctx.SetParam(ParamPrefix+name, value)
	}
}

// FromContext returns c overlaid with every "bio_<name>" parameter visible from ctx's scope (searched from
// the scope up to the root, as ctx.GetParam does), validated; fields without a parameter keep their value
// in c, as GoMLX's (*optimizers.AdamConfig).FromContext does. A parameter set to nil is ignored (GoMLX's
// convention for "unset"). Values of the wrong type or out of range, and unknown "bio_*" parameters in ctx's
// scope or its parents (typos), are errors naming the parameter; on error c is returned unchanged.
func (c Config) FromContext(ctx *context.Context) (Config, error) {
	m := make(map[string]any)
	ctx.EnumerateParams(func(scope, key string, _ any) {
		visible := scope == "" || scope == context.RootScope || ctx.Scope() == scope ||
			strings.HasPrefix(ctx.Scope(), strings.TrimSuffix(scope, context.ScopeSeparator)+context.ScopeSeparator)
		if !visible || !strings.HasPrefix(key, ParamPrefix) {
			return
		}
		if value, _ := ctx.GetParam(key); value != nil { // The innermost visible value.
			m[strings.TrimPrefix(key, ParamPrefix)] = value
		}
	})
	if _, both := m["fuzzy_lr_total_layers"]; both {
		delete(m, cfgKeyAlias) // The canonical name wins over the alias.
	}
	return c.update(m, ParamPrefix)
}

// ConfigFromContext is DefaultConfig().FromContext(ctx).
func ConfigFromContext(ctx *context.Context) (Config, error) {
	c, err := DefaultConfig().FromContext(ctx)
	if err != nil {
		return Config{}, err
	}
	return c, nil
}
