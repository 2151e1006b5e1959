package bio

// Reading, writing and validating a Config: from a map or JSON object with the reference package's
// snake_case names (BioConverter.from_dict / get_config / update_config), and to and from GoMLX context
// parameters ("bio_" + the same names), so that `-set bio_<name>=<value>` on the command line works.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// ParamPrefix is the prefix of context-parameter keys: "bio_" + the reference snake_case name.
// E.g. the context parameter of Config.DampeningFactor is "bio_dampening_factor".
const ParamPrefix = "bio_"

// configKeyAliases maps accepted alternative keys to the canonical (json tag) key.
// "fuzzy_lr_layer_total" is the name used in the reference's issue text.
var configKeyAliases = map[string]string{
	"fuzzy_lr_layer_total": "fuzzy_lr_total_layers",
}

// Keys whose string values get special parsing.
const (
	cfgKeyActivation   = "weight_splitting_activation_function"
	cfgKeyDistribution = "fuzzy_lr_distribution"
	cfgKeyFactorMode   = "factor_mode"
)

// cfgField describes one field of Config, discovered from its json tag.
type cfgField struct {
	name  string // json tag: the reference's snake_case name.
	index []int  // field index in Config (reflect.Value.FieldByIndex), through the embedded Mechanisms.
	kind  reflect.Kind
}

// cfgFields lists the fields of Config in declaration order; cfgFieldByName indexes them by name.
var cfgFields, cfgFieldByName = cfgBuildFields()

func cfgBuildFields() ([]cfgField, map[string]cfgField) {
	t := reflect.TypeFor[Config]()
	var fields []cfgField
	byName := make(map[string]cfgField)
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue // the embedded Mechanisms: its fields are visited themselves
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		cf := cfgField{name: name, index: f.Index, kind: f.Type.Kind()}
		fields = append(fields, cf)
		byName[name] = cf
	}
	return fields, byName
}

// ConfigKeys returns the accepted keys (the reference's snake_case names), in Config's field order.
// Aliases (e.g. "fuzzy_lr_layer_total") are accepted too but not listed.
func ConfigKeys() []string {
	keys := make([]string, len(cfgFields))
	for i, f := range cfgFields {
		keys[i] = f.name
	}
	return keys
}

// ConfigFieldError is the error for one bad configuration value: the field (the reference's name), the
// value given and the rule it breaks. Validate, ConfigFromMap, ConfigFromJSON, Update and ConfigFromContext
// return one, or several joined with errors.Join; use errors.As to inspect them.
type ConfigFieldError struct {
	Field string // Reference (json) name of the field, or the unknown key.
	Value any    // Offending value.
	Rule  string // What is required, e.g. "must be in (0, 1)".
}

// Error formats as `bio: dampening_factor = 1.5: must be in (0, 1)`.
func (e *ConfigFieldError) Error() string {
	return fmt.Sprintf("bio: %s = %s: %s", e.Field, cfgFormatValue(e.Value), e.Rule)
}

func cfgFormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case Distribution:
		return strconv.Quote(string(x))
	case FactorMode:
		return strconv.Quote(string(x))
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return fmt.Sprint(x)
	default:
		return fmt.Sprintf("%v (%T)", x, x)
	}
}

func cfgErr(field string, value any, format string, args ...any) error {
	return &ConfigFieldError{Field: field, Value: value, Rule: fmt.Sprintf(format, args...)}
}

// activationNames are the accepted values of Config.WeightSplittingActivation, in canonical form.
var activationNames = []string{"identity", "relu", "relu6", "tanh", "sigmoid", "leaky_relu", "gelu", "silu", "elu"}

// activationAliases maps normalized alternative spellings to canonical names.
var activationAliases = map[string]string{
	"":          "identity",
	"none":      "identity",
	"linear":    "identity",
	"leakyrelu": "leaky_relu",
	"swish":     "silu",
}

// normalizeActivationName lower-cases name and accepts the spellings a Python user may write: "ReLU",
// "torch.nn.ReLU()", "F.relu", "LeakyReLU()", "Identity()" (the reference's default) or "none".
func normalizeActivationName(name string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(name))
	s = strings.TrimSuffix(s, "()")
	if i := strings.LastIndex(s, "."); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ReplaceAll(s, "-", "_")
	if alias, ok := activationAliases[s]; ok {
		s = alias
	}
	return s, slices.Contains(activationNames, s)
}

// ActivationByName returns the activation function f used by weight splitting. Names are case-insensitive
// and may be written as in Python ("ReLU()", "torch.relu"); "" and "none" mean identity. The functions follow
// PyTorch's defaults: leaky_relu has negative slope 0.01, gelu is the exact (erf) form, elu has α = 1, and
// relu6 is min(max(x, 0), 6).
func ActivationByName(name string) (func(*graph.Node) *graph.Node, error) {
	canonical, ok := normalizeActivationName(name)
	if !ok {
		return nil, cfgErr(cfgKeyActivation, name, "must be one of %s", strings.Join(activationNames, ", "))
	}
	switch canonical {
	case "identity":
		return func(x *graph.Node) *graph.Node { return x }, nil
	case "relu":
		return activations.Relu, nil
	case "relu6":
		return func(x *graph.Node) *graph.Node { return graph.MinScalar(graph.MaxScalar(x, 0.0), 6.0) }, nil
	case "tanh":
		return graph.Tanh, nil
	case "sigmoid":
		return graph.Sigmoid, nil
	case "leaky_relu":
		return func(x *graph.Node) *graph.Node { return activations.LeakyReluWithAlpha(x, 0.01) }, nil
	case "gelu":
		return activations.Gelu, nil
	case "silu":
		return activations.Swish, nil
	case "elu":
		return func(x *graph.Node) *graph.Node {
			return graph.Where(graph.GreaterThan(x, graph.ScalarZero(x.Graph(), x.DType())), x, graph.Expm1(x))
		}, nil
	}
	return nil, cfgErr(cfgKeyActivation, name, "must be one of %s", strings.Join(activationNames, ", "))
}

// ParseDistribution parses a distribution name, case-insensitively. It accepts "uniform", "UNIFORM" and the
// Python enum spelling "Distribution.UNIFORM"; "-" may be written for "_" ("layer-adaptive").
func ParseDistribution(s string) (Distribution, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ReplaceAll(name, "-", "_")
	for _, d := range Distributions {
		if string(d) == name {
			return d, nil
		}
	}
	return "", cfgErr(cfgKeyDistribution, s, "must be one of %s", cfgJoinDistributions())
}

func cfgJoinDistributions() string {
	names := make([]string, len(Distributions))
	for i, d := range Distributions {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// cfgParseFactorMode parses "gradient" or "update", case-insensitively (also "FactorMode.GRADIENT").
func cfgParseFactorMode(s string) (FactorMode, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	switch FactorMode(name) {
	case FactorsOnGradient, FactorsOnUpdate:
		return FactorMode(name), nil
	}
	return "", cfgErr(cfgKeyFactorMode, s, "must be %q or %q", FactorsOnGradient, FactorsOnUpdate)
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
	add := func(err error) { errs = append(errs, err) }

	// Floats: all must be finite; then each its own range.
	type floatRule struct {
		name string
		v    float64
		ok   func(float64) bool
		rule string
	}
	nuMax := math.Inf(1)
	nuRule := "must be ≥ 0"
	if c.FuzzyLRDistribution.uniformBased() {
		nuMax = 1
		nuRule = fmt.Sprintf("must be in [0, 1] for distribution %q", c.FuzzyLRDistribution)
	}
	floats := []floatRule{
		{"fuzzy_learning_rate_factor_nu", c.FuzzyLearningRateFactorNu, func(v float64) bool { return v >= 0 && v <= nuMax }, nuRule},
		{"dampening_factor", c.DampeningFactor, func(v float64) bool { return v > 0 && v < 1 }, "must be in (0, 1)"},
		{"crystal_thresh", c.CrystalThresh, func(v float64) bool { return v >= 0 }, "must be ≥ 0"},
		{"rejuvenation_parameter_dre", c.RejuvenationParameterDre, func(v float64) bool { return v > 0 }, "must be > 0"},
		{"base_lr", c.BaseLR, func(v float64) bool { return v >= 0 }, "must be ≥ 0"},
		{"stability_factor", c.StabilityFactor, func(v float64) bool { return v >= 0 }, "must be ≥ 0"},
		{"lr_variability", c.LRVariability, func(v float64) bool { return v >= 0 }, "must be ≥ 0"},
		{"fuzzy_lr_min", c.FuzzyLRMin, func(v float64) bool { return v > 0 }, "must be > 0"},
		{"fuzzy_lr_max", c.FuzzyLRMax, func(v float64) bool { return v >= c.FuzzyLRMin },
			fmt.Sprintf("must be ≥ fuzzy_lr_min (%s)", cfgFormatValue(c.FuzzyLRMin))},
		{"fuzzy_lr_decay", c.FuzzyLRDecay, func(v float64) bool { return v > 0 && v <= 1 }, "must be in (0, 1]"},
		{"synaptic_scaling_gamma", c.SynapticScalingGamma, func(v float64) bool { return v >= 0 }, "must be ≥ 0"},
		{"synaptic_scaling_target", c.SynapticScalingTarget, func(float64) bool { return true }, ""},
		{"synaptic_scaling_momentum", c.SynapticScalingMomentum, func(v float64) bool { return v >= 0 && v < 1 }, "must be in [0, 1)"},
		{"l1_lambda", c.L1Lambda, func(v float64) bool { return v >= 0 }, "must be ≥ 0"},
	}
	for _, f := range floats {
		switch {
		case math.IsNaN(f.v) || math.IsInf(f.v, 0):
			add(cfgErr(f.name, f.v, "must be a finite number"))
		case f.name == "fuzzy_lr_max" && (math.IsNaN(c.FuzzyLRMin) || math.IsInf(c.FuzzyLRMin, 0)):
			// Already reported on fuzzy_lr_min.
		case !f.ok(f.v):
			add(cfgErr(f.name, f.v, "%s", f.rule))
		}
	}

	// Integers.
	if c.WeightSplittingGamma < 0 {
		add(cfgErr("weight_splitting_Gamma", c.WeightSplittingGamma, "must be ≥ 0 (0 or 1 disables weight splitting)"))
	}
	if c.FuzzyLRUpdateFreq < 1 {
		add(cfgErr("fuzzy_lr_update_freq", c.FuzzyLRUpdateFreq, "must be ≥ 1"))
	}
	if c.RejuvenationPeriod < 1 {
		add(cfgErr("rejuvenation_period", c.RejuvenationPeriod, "must be ≥ 1"))
	}
	indexOK, totalOK := c.FuzzyLRLayerIndex >= -1, c.FuzzyLRTotalLayers == -1 || c.FuzzyLRTotalLayers >= 1
	if !indexOK {
		add(cfgErr("fuzzy_lr_layer_index", c.FuzzyLRLayerIndex, "must be ≥ 0, or -1 (set by the converter)"))
	}
	if !totalOK {
		add(cfgErr("fuzzy_lr_total_layers", c.FuzzyLRTotalLayers, "must be ≥ 1, or -1 (set by the converter)"))
	}
	if indexOK && totalOK && c.FuzzyLRLayerIndex >= 0 && c.FuzzyLRTotalLayers >= 1 &&
		c.FuzzyLRLayerIndex >= c.FuzzyLRTotalLayers {
		add(cfgErr("fuzzy_lr_layer_index", c.FuzzyLRLayerIndex, "must be < fuzzy_lr_total_layers (%d)",
			c.FuzzyLRTotalLayers))
	}

	// Names.
	if _, ok := normalizeActivationName(c.WeightSplittingActivation); !ok {
		add(cfgErr(cfgKeyActivation, c.WeightSplittingActivation, "must be one of %s",
			strings.Join(activationNames, ", ")))
	}
	if !slices.Contains(Distributions, c.FuzzyLRDistribution) {
		add(cfgErr(cfgKeyDistribution, c.FuzzyLRDistribution, "must be one of %s", cfgJoinDistributions()))
	}
	if c.FactorMode != FactorsOnGradient && c.FactorMode != FactorsOnUpdate {
		add(cfgErr(cfgKeyFactorMode, c.FactorMode, "must be %q or %q", FactorsOnGradient, FactorsOnUpdate))
	}
	return errors.Join(errs...)
}

// ConfigFromMap returns DefaultConfig() with the given keys applied, validated: the equivalent of the
// reference's BioConverter.from_dict. Keys are the reference's snake_case names (see ConfigKeys; the alias
// "fuzzy_lr_layer_total" is accepted); values may be Go numbers of any type (ints must be whole: 2.0 is fine,
// 2.5 is not), bools, strings (parsed for numbers and bools), json.Number, Distribution or FactorMode.
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
		switch f.kind {
		case reflect.Float32, reflect.Float64:
			m[f.name] = fv.Float()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
			m[f.name] = int(fv.Int())
		case reflect.Int64:
			m[f.name] = fv.Int()
		case reflect.Bool:
			m[f.name] = fv.Bool()
		case reflect.String:
			m[f.name] = fv.String()
		default:
			m[f.name] = fv.Interface()
		}
	}
	return m
}

// Update returns a copy of c with the keys of m applied and validated (the reference's update_config); see
// ConfigFromMap for the accepted keys and values. On error it returns c itself, unchanged, and every problem
// found (unknown keys, bad types, out-of-range values).
func (c Config) Update(m map[string]any) (Config, error) {
	updated := c
	var errs []error
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		name := key
		if canonical, ok := configKeyAliases[key]; ok {
			if _, both := m[canonical]; both {
				errs = append(errs, cfgErr(key, m[key], "is an alias of %q, which is also given: give only one", canonical))
				continue
			}
			name = canonical
		}
		f, ok := cfgFieldByName[name]
		if !ok {
			errs = append(errs, cfgUnknownKeyError(key, m[key], ""))
			continue
		}
		if err := updated.setField(f, m[key]); err != nil {
			errs = append(errs, err)
		}
	}
	// Fields that failed to parse kept their previous value, so Validate reports only the other problems.
	if err := updated.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return updated, nil
}

// cfgUnknownKeyError names the unknown key, suggests the closest valid keys and lists them all. prefix is
// "" for map/JSON keys and ParamPrefix for context parameters.
func cfgUnknownKeyError(key string, value any, prefix string) error {
	lower := strings.ToLower(strings.TrimPrefix(key, prefix))
	type candidate struct {
		name string
		dist int
	}
	var near []candidate
	for _, name := range append(ConfigKeys(), "fuzzy_lr_layer_total") {
		d := cfgEditDistance(lower, strings.ToLower(name))
		if d <= max(2, len(name)/4) || (len(lower) >= 4 && strings.Contains(strings.ToLower(name), lower)) {
			near = append(near, candidate{name, d})
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].dist < near[j].dist })
	var sb strings.Builder
	sb.WriteString("unknown key")
	if len(near) > 0 {
		names := make([]string, 0, 3)
		for i := 0; i < len(near) && i < 3; i++ {
			names = append(names, strconv.Quote(prefix+near[i].name))
		}
		fmt.Fprintf(&sb, " (did you mean %s?)", strings.Join(names, " or "))
	}
	if prefix != "" {
		fmt.Fprintf(&sb, "; valid keys are %q followed by one of: %s", prefix, strings.Join(ConfigKeys(), ", "))
	} else {
		fmt.Fprintf(&sb, "; valid keys: %s", strings.Join(ConfigKeys(), ", "))
	}
	return &ConfigFieldError{Field: key, Value: value, Rule: sb.String()}
}

// cfgEditDistance is the Levenshtein distance between a and b (bytes).
func cfgEditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// setField converts value to the type of field f and stores it in c. It does not check ranges (Validate
// does), only types and names.
func (c *Config) setField(f cfgField, value any) error {
	fv := reflect.ValueOf(c).Elem().FieldByIndex(f.index)
	switch f.name {
	case cfgKeyActivation:
		if value == nil {
			fv.SetString("identity")
			return nil
		}
		s, ok := value.(string)
		if !ok {
			return cfgErr(f.name, value, "must be an activation name (string) or null")
		}
		canonical, ok := normalizeActivationName(s)
		if !ok {
			return cfgErr(f.name, value, "must be one of %s", strings.Join(activationNames, ", "))
		}
		fv.SetString(canonical)
		return nil
	case cfgKeyDistribution:
		var s string
		switch x := value.(type) {
		case string:
			s = x
		case Distribution:
			s = string(x)
		default:
			return cfgErr(f.name, value, "must be a distribution name (string): one of %s", cfgJoinDistributions())
		}
		d, err := ParseDistribution(s)
		if err != nil {
			return err
		}
		fv.SetString(string(d))
		return nil
	case cfgKeyFactorMode:
		var s string
		switch x := value.(type) {
		case string:
			s = x
		case FactorMode:
			s = string(x)
		default:
			return cfgErr(f.name, value, "must be %q or %q", FactorsOnGradient, FactorsOnUpdate)
		}
		mode, err := cfgParseFactorMode(s)
		if err != nil {
			return err
		}
		fv.SetString(string(mode))
		return nil
	}

	switch f.kind {
	case reflect.Float32, reflect.Float64:
		x, ok := cfgToFloat(value)
		if !ok {
			return cfgErr(f.name, value, "must be a number")
		}
		fv.SetFloat(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := cfgToInt(value)
		if !ok || fv.OverflowInt(x) {
			return cfgErr(f.name, value, "must be a whole number")
		}
		fv.SetInt(x)
	case reflect.Bool:
		switch x := value.(type) {
		case bool:
			fv.SetBool(x)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return cfgErr(f.name, value, "must be true or false")
			}
			fv.SetBool(b)
		default:
			return cfgErr(f.name, value, "must be true or false")
		}
	case reflect.String:
		s, ok := value.(string)
		if !ok {
			return cfgErr(f.name, value, "must be a string")
		}
		fv.SetString(s)
	default:
		return cfgErr(f.name, value, "unsupported field type %s", f.kind)
	}
	return nil
}

// cfgToFloat converts any Go number, json.Number or numeric string to float64. float32 values are converted
// through their shortest decimal form, so float32(0.09) gives 0.09 and not 0.09000000357627869.
func cfgToFloat(value any) (float64, bool) {
	switch x := value.(type) {
	case float64:
		return x, true
	case float32:
		f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return f, err == nil
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// cfgToInt converts value to int64 if it is a whole number: any Go integer, a float with no fractional
// part (2.0), a json.Number or a numeric string.
func cfgToInt(value any) (int64, bool) {
	switch x := value.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case float32:
		return cfgWholeFloat(float64(x))
	case float64:
		return cfgWholeFloat(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		f, err := x.Float64()
		if err != nil {
			return 0, false
		}
		return cfgWholeFloat(f)
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false
		}
		return cfgWholeFloat(f)
	}
	return 0, false
}

func cfgWholeFloat(f float64) (int64, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// SetToContext sets the context parameter ParamPrefix+name to the field's value for every field, in ctx's
// current scope, with plain types (float64, int, int64 for the seed, bool, string) that GoMLX checkpoints
// save and restore and that commandline.ParseContextSettings can parse.
//
// Call it on the root context to define the defaults before parsing the command line:
//
//	bio.DefaultConfig().SetToContext(ctx)
//	settings := commandline.CreateContextSettingsFlag(ctx, "")
//	flag.Parse()
//	_, err := commandline.ParseContextSettings(ctx, *settings) // e.g. -set "bio_fuzzy_learning_rate_factor_nu=0.09"
//	cfg, err := bio.ConfigFromContext(ctx)
//
// (ParseContextSettings only accepts parameters that exist in the root scope, and parses the new value to
// the type of the existing one.) Scoped settings such as "/layer_1/bio_dampening_factor=0.5" are then seen
// by ConfigFromContext(ctx.In("layer_1")).
func (c Config) SetToContext(ctx *context.Context) {
	for name, value := range c.ToMap() {
		ctx.SetParam(ParamPrefix+name, value)
	}
}

// ConfigFromContext returns DefaultConfig() overridden by every "bio_<name>" parameter visible from ctx's
// scope (searched from the scope up to the root, as ctx.GetParam does), validated. A parameter set to nil is
// ignored (GoMLX's convention for "unset"). Values of the wrong type or out of range, and unknown "bio_*"
// parameters in ctx's scope or its parents (typos), are errors naming the parameter.
func ConfigFromContext(ctx *context.Context) (Config, error) {
	m := make(map[string]any)
	scope := ctx.Scope()
	var errs []error
	// Detect unknown "bio_*" keys in the scopes visible from ctx.
	var unknown []string
	ctx.EnumerateParams(func(paramScope, key string, _ any) {
		if !strings.HasPrefix(key, ParamPrefix) || !cfgScopeVisible(paramScope, scope) {
			return
		}
		name := strings.TrimPrefix(key, ParamPrefix)
		if _, ok := cfgFieldByName[name]; ok {
			return
		}
		if _, ok := configKeyAliases[name]; ok {
			return
		}
		unknown = append(unknown, key)
	})
	slices.Sort(unknown)
	for _, key := range slices.Compact(unknown) {
		value, _ := ctx.GetParam(key)
		errs = append(errs, cfgUnknownKeyError(key, value, ParamPrefix))
	}
	for _, f := range cfgFields {
		if value, found := ctx.GetParam(ParamPrefix + f.name); found && value != nil {
			m[f.name] = value
		}
	}
	for alias, canonical := range configKeyAliases {
		if _, done := m[canonical]; done {
			continue // The canonical name wins over the alias.
		}
		if value, found := ctx.GetParam(ParamPrefix + alias); found && value != nil {
			m[alias] = value
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	c, err := ConfigFromMap(m)
	if err != nil {
		return Config{}, cfgPrefixFieldNames(err)
	}
	return c, nil
}

// cfgScopeVisible reports whether parameters of paramScope are visible from scope (same scope or a parent).
func cfgScopeVisible(paramScope, scope string) bool {
	if paramScope == context.RootScope || paramScope == "" || paramScope == scope {
		return true
	}
	return strings.HasPrefix(scope, strings.TrimSuffix(paramScope, context.ScopeSeparator)+context.ScopeSeparator)
}

// cfgPrefixFieldNames rewrites the Field of every ConfigFieldError in err to the context parameter name, so
// errors from ConfigFromContext name the parameter the user set (e.g. "bio_dampening_factor").
func cfgPrefixFieldNames(err error) error {
	var fieldErrs []error
	var walk func(error)
	walk = func(e error) {
		if joined, ok := e.(interface{ Unwrap() []error }); ok {
			for _, sub := range joined.Unwrap() {
				walk(sub)
			}
			return
		}
		var fe *ConfigFieldError
		if errors.As(e, &fe) {
			copied := *fe
			if !strings.HasPrefix(copied.Field, ParamPrefix) {
				copied.Field = ParamPrefix + copied.Field
			}
			fieldErrs = append(fieldErrs, &copied)
			return
		}
		fieldErrs = append(fieldErrs, e)
	}
	walk(err)
	return errors.Join(fieldErrs...)
}
