package bio

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/ui/commandline"
)

// TestConfigDefaultsMatchReference checks the reference BioConfig defaults, by reference name.
func TestConfigDefaultsMatchReference(t *testing.T) {
	want := map[string]any{
		"weight_splitting_activation_function": "identity",
		"fuzzy_learning_rate_factor_nu":        0.16,
		"dampening_factor":                     0.6,
		"crystal_thresh":                       4.5e-5,
		"rejuvenation_parameter_dre":           8.0,
		"weight_splitting_Gamma":               0,
		"apply_dales_principle":                false,
		"base_lr":                              0.1,
		"stability_factor":                     2.0,
		"lr_variability":                       0.2,
		"fuzzy_lr_distribution":                "uniform",
		"fuzzy_lr_min":                         0.5,
		"fuzzy_lr_max":                         2.0,
		"fuzzy_lr_dynamic":                     false,
		"fuzzy_lr_decay":                       0.9995,
		"fuzzy_lr_update_freq":                 100,
		"fuzzy_lr_layer_index":                 -1,
		"fuzzy_lr_total_layers":                -1,
	}
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	got := c.ToMap()
	for key, w := range want {
		if g, ok := got[key]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("default %s = %#v, want %#v", key, g, w)
		}
	}
	if len(got) != len(ConfigKeys()) {
		t.Errorf("ToMap has %d keys, ConfigKeys %d", len(got), len(ConfigKeys()))
	}
}

func TestConfigMapRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.FuzzyLearningRateFactorNu = 0.09
	c.RejuvenationParameterDre = 14
	c.WeightSplittingGamma = 2
	c.WeightSplittingActivation = "relu6"
	c.FuzzyLRDistribution = LayerAdaptive
	c.FactorMode = FactorsOnUpdate
	c.Crystallize = true
	c.FuzzyLRLayerIndex, c.FuzzyLRTotalLayers = 1, 3
	c.Seed = 1<<62 + 1 // Not representable as float64: must survive the JSON round trip too.
	c2, err := ConfigFromMap(c.ToMap())
	if err != nil {
		t.Fatal(err)
	}
	if c2 != c {
		t.Errorf("map round trip:\n got %+v\nwant %+v", c2, c)
	}
	data, err := json.Marshal(c.ToMap())
	if err != nil {
		t.Fatal(err)
	}
	c3, err := ConfigFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if c3 != c {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", c3, c)
	}
}

// TestConfigFromPythonJSON uses what a Python user would produce with json.dumps of a config dict.
func TestConfigFromPythonJSON(t *testing.T) {
	data := []byte(`{
		"weight_splitting_activation_function": null,
		"fuzzy_learning_rate_factor_nu": 0.09,
		"dampening_factor": 0.6,
		"crystal_thresh": 4.5e-05,
		"rejuvenation_parameter_dre": 14.0,
		"weight_splitting_Gamma": 2.0,
		"apply_dales_principle": true,
		"base_lr": 0.1,
		"stability_factor": 2,
		"lr_variability": 0.2,
		"fuzzy_lr_distribution": "Distribution.NORMAL",
		"fuzzy_lr_min": 0.5,
		"fuzzy_lr_max": 2.0,
		"fuzzy_lr_dynamic": false,
		"fuzzy_lr_decay": 0.9995,
		"fuzzy_lr_update_freq": 100,
		"fuzzy_lr_layer_index": -1,
		"fuzzy_lr_layer_total": -1
	}`)
	c, err := ConfigFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.FuzzyLearningRateFactorNu = 0.09
	want.RejuvenationParameterDre = 14
	want.WeightSplittingGamma = 2
	want.ApplyDalesPrinciple = true
	want.FuzzyLRDistribution = Normal
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}

	for _, bad := range []string{`[1, 2]`, `null`, `{"dampening_factor": 0.5} {}`, `{"dampening_factor": }`} {
		if _, err := ConfigFromJSON([]byte(bad)); err == nil {
			t.Errorf("ConfigFromJSON(%s) succeeded, want error", bad)
		}
	}
}

func TestConfigActivationNames(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "identity"}, {"", "identity"}, {"None", "identity"}, {"Identity()", "identity"},
		{"ReLU", "relu"}, {"torch.nn.ReLU()", "relu"}, {"F.relu", "relu"}, {"ReLU6()", "relu6"},
		{"LeakyReLU()", "leaky_relu"}, {"leaky_relu", "leaky_relu"}, {"GELU", "gelu"}, {"SiLU()", "silu"},
		{"swish", "silu"}, {"ELU", "elu"}, {"Tanh()", "tanh"}, {"sigmoid", "sigmoid"},
	} {
		c, err := ConfigFromMap(map[string]any{"weight_splitting_activation_function": tc.in})
		if err != nil {
			t.Errorf("activation %#v: %v", tc.in, err)
			continue
		}
		if c.WeightSplittingActivation != tc.want {
			t.Errorf("activation %#v -> %q, want %q", tc.in, c.WeightSplittingActivation, tc.want)
		}
	}
}

// TestConfigInvalidValues checks that every bad value is reported with its field's reference name, and
// that the error message has the documented form.
func TestConfigInvalidValues(t *testing.T) {
	for _, tc := range []struct {
		key   string
		value any
		extra map[string]any // Other keys set at the same time.
	}{
		{"fuzzy_learning_rate_factor_nu", -0.1, nil},
		{"fuzzy_learning_rate_factor_nu", 1.5, nil}, // Uniform: ν ≤ 1.
		{"fuzzy_learning_rate_factor_nu", 1.5, map[string]any{"fuzzy_lr_distribution": "beta"}},
		{"dampening_factor", 1.5, nil},
		{"dampening_factor", 0.0, nil},
		{"dampening_factor", 1, nil},
		{"crystal_thresh", -1e-5, nil},
		{"rejuvenation_parameter_dre", 0, nil},
		{"weight_splitting_Gamma", -2, nil},
		{"weight_splitting_Gamma", 2.5, nil},
		{"weight_splitting_Gamma", "two", nil},
		{"base_lr", -0.1, nil},
		{"stability_factor", -1, nil},
		{"lr_variability", -0.2, nil},
		{"fuzzy_lr_min", 0, nil},
		{"fuzzy_lr_max", 0.4, nil},
		{"fuzzy_lr_decay", 0, nil},
		{"fuzzy_lr_decay", 1.01, nil},
		{"fuzzy_lr_update_freq", 0, nil},
		{"fuzzy_lr_layer_index", -2, nil},
		{"fuzzy_lr_total_layers", -3, nil},
		{"fuzzy_lr_total_layers", 0, nil},
		{"fuzzy_lr_layer_index", 3, map[string]any{"fuzzy_lr_total_layers": 3}},
		{"synaptic_scaling_gamma", -1e-3, nil},
		{"synaptic_scaling_momentum", 1.0, nil},
		{"synaptic_scaling_momentum", -0.1, nil},
		{"l1_lambda", -1e-5, nil},
		{"rejuvenation_period", 0, nil},
		{"factor_mode", "weights", nil},
		{"factor_mode", 1, nil},
		{"weight_splitting_activation_function", "softmax", nil},
		{"weight_splitting_activation_function", 3, nil},
		{"fuzzy_lr_distribution", "cauchy", nil},
		{"fuzzy_lr_distribution", 1, nil},
		{"apply_dales_principle", 1, nil},
		{"apply_dales_principle", "yes please", nil},
		{"dampening_factor", "abc", nil},
		{"dampening_factor", "0.5", nil}, // numbers are numbers, not strings
		{"apply_dales_principle", "True", nil},
		{"fuzzy_lr_update_freq", "1_000", nil},
		{"fuzzy_lr_update_freq", json.Number("2.5"), nil},
		{"seed", json.Number("1e30"), nil},
		{"dampening_factor", nil, nil},
		{"dampening_factor", math.NaN(), nil},
		{"base_lr", math.Inf(1), nil},
		{"synaptic_scaling_target", math.NaN(), nil},
		{"seed", 1.5, nil},
		{"seed", uint64(math.MaxUint64), nil},
	} {
		m := map[string]any{tc.key: tc.value}
		for k, v := range tc.extra {
			m[k] = v
		}
		_, err := ConfigFromMap(m)
		if err == nil {
			t.Errorf("%s = %#v: no error", tc.key, tc.value)
			continue
		}
		if !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s = %#v: error %q does not name the field", tc.key, tc.value, err)
		}
		var fe *ConfigFieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s = %#v: error %q is not a *ConfigFieldError", tc.key, tc.value, err)
		}
	}

	_, err := ConfigFromMap(map[string]any{"dampening_factor": 1.5})
	if got, want := err.Error(), "bio: dampening_factor = 1.5: must be in (0, 1)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}

	// Ranges that are fine.
	for _, m := range []map[string]any{
		{"fuzzy_learning_rate_factor_nu": 0.0},
		{"fuzzy_learning_rate_factor_nu": 1.0},
		{"fuzzy_learning_rate_factor_nu": 1.5, "fuzzy_lr_distribution": "lognormal"},
		{"synaptic_scaling_target": -1.0},
		{"synaptic_scaling_target": 0.3},
		{"fuzzy_lr_decay": 1},
		{"fuzzy_lr_min": 1.0, "fuzzy_lr_max": 1.0},
		{"fuzzy_lr_layer_index": 2, "fuzzy_lr_total_layers": 3},
		{"fuzzy_lr_layer_index": 2}, // Total set later by the converter.
		{"weight_splitting_Gamma": 1},
		{"weight_splitting_Gamma": float32(2), "fuzzy_lr_update_freq": int64(10), "rejuvenation_period": uint8(5)},
		{"seed": -7},
		{"seed": json.Number("9007199254740993"), "fuzzy_lr_update_freq": json.Number("2.0")},
		{"fuzzy_lr_distribution": Normal, "factor_mode": FactorsOnUpdate},
	} {
		if _, err := ConfigFromMap(m); err != nil {
			t.Errorf("ConfigFromMap(%v): %v", m, err)
		}
	}
}

func TestConfigCollectsAllErrors(t *testing.T) {
	c := DefaultConfig()
	c.DampeningFactor = 2
	c.BaseLR = math.NaN()
	c.RejuvenationPeriod = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"dampening_factor", "base_lr = NaN", "rejuvenation_period"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %q", err, name)
		}
	}
}

func TestConfigFloat32Exact(t *testing.T) {
	c, err := ConfigFromMap(map[string]any{"fuzzy_learning_rate_factor_nu": float32(0.09)})
	if err != nil {
		t.Fatal(err)
	}
	if c.FuzzyLearningRateFactorNu != 0.09 {
		t.Errorf("ν = %v, want 0.09", c.FuzzyLearningRateFactorNu)
	}
}

func TestConfigUnknownKey(t *testing.T) {
	_, err := ConfigFromMap(map[string]any{"dampning_factor": 0.5})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{`dampning_factor = 0.5: unknown key`, "valid keys:", "dampening_factor", "crystal_thresh"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestConfigUnknownContextParam(t *testing.T) {
	ctx := context.New()
	DefaultConfig().SetToContext(ctx)
	ctx.SetParam(ParamPrefix+"crystalize", true)
	_, err := ConfigFromContext(ctx)
	if err == nil || !strings.Contains(err.Error(), `bio_crystalize = true: unknown key; valid keys are "bio_" followed by one of:`) {
		t.Errorf("err = %v", err)
	}
}

// TestConfigReportsParseAndRangeErrors: a type error on one key does not hide a range error on another.
func TestConfigReportsParseAndRangeErrors(t *testing.T) {
	_, err := ConfigFromMap(map[string]any{"dampening_factor": "x", "fuzzy_learning_rate_factor_nu": 1.5, "nope": 1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`dampening_factor = "x": must be a number`, "fuzzy_learning_rate_factor_nu = 1.5", "nope = 1: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestConfigAliasKey(t *testing.T) {
	c, err := ConfigFromMap(map[string]any{"fuzzy_lr_layer_total": 4, "fuzzy_lr_layer_index": 3})
	if err != nil {
		t.Fatal(err)
	}
	if c.FuzzyLRTotalLayers != 4 || c.FuzzyLRLayerIndex != 3 {
		t.Errorf("total, index = %d, %d; want 4, 3", c.FuzzyLRTotalLayers, c.FuzzyLRLayerIndex)
	}
	if _, err := ConfigFromMap(map[string]any{"fuzzy_lr_layer_total": 4, "fuzzy_lr_total_layers": 5}); err == nil {
		t.Error("alias and canonical key both given: no error")
	}
}

func TestConfigUpdate(t *testing.T) {
	c := DefaultConfig()
	c.Seed = 7
	before := c
	updated, err := c.Update(map[string]any{"dampening_factor": 0.5, "crystallize": true})
	if err != nil {
		t.Fatal(err)
	}
	if updated.DampeningFactor != 0.5 || !updated.Crystallize || updated.Seed != 7 {
		t.Errorf("updated = %+v", updated)
	}
	if c != before {
		t.Errorf("receiver changed by a successful Update")
	}

	// One valid and one invalid key: nothing is applied.
	got, err := c.Update(map[string]any{"base_lr": 0.3, "dampening_factor": 1.5})
	if err == nil {
		t.Fatal("no error")
	}
	if c != before || got != before {
		t.Errorf("Update with an error: receiver %+v, returned %+v; want both unchanged", c, got)
	}
	if _, err := c.Update(map[string]any{"nope": 1}); err == nil || c != before {
		t.Errorf("unknown key: err = %v, receiver changed: %v", err, c != before)
	}
}

func TestParseDistribution(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Distribution
		ok   bool
	}{
		{"UNIFORM", Uniform, true},
		{"uniform", Uniform, true},
		{"Distribution.UNIFORM", Uniform, true},
		{" Uniform ", Uniform, true},
		{"LAYER_ADAPTIVE", LayerAdaptive, true},
		{"layer-adaptive", LayerAdaptive, true},
		{"Distribution.LOGNORMAL", LogNormal, true},
		{"baseline", Baseline, true},
		{"activity", Activity, true},
		{"", "", false},
		{"cauchy", "", false},
		{"Distribution.", "", false},
	} {
		got, err := ParseDistribution(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDistribution(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "fuzzy_lr_distribution") {
			t.Errorf("ParseDistribution(%q) error %q does not name the field", tc.in, err)
		}
	}
	for _, d := range Distributions {
		if got, err := ParseDistribution(strings.ToUpper(string(d))); err != nil || got != d {
			t.Errorf("ParseDistribution(%q) = %q, %v", strings.ToUpper(string(d)), got, err)
		}
	}
}

func TestConfigContextRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.FuzzyLearningRateFactorNu = 0.09
	c.FuzzyLRDistribution = Gamma
	c.WeightSplittingGamma = 2
	c.ApplyDalesPrinciple = true
	c.Seed = 123
	ctx := context.New()
	c.SetToContext(ctx)
	for _, name := range ConfigKeys() {
		if _, found := ctx.GetParam(ParamPrefix + name); !found {
			t.Errorf("param %q not set", ParamPrefix+name)
		}
	}
	got, err := ConfigFromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("context round trip:\n got %+v\nwant %+v", got, c)
	}

	// Searched from the scope up; a sub-scope override is seen only there.
	ctx.In("layer_1").SetParam(ParamPrefix+"dampening_factor", 0.3)
	sub, err := ConfigFromContext(ctx.In("layer_1").In("dense"))
	if err != nil {
		t.Fatal(err)
	}
	if sub.DampeningFactor != 0.3 || sub.Seed != 123 {
		t.Errorf("sub-scope config: %+v", sub)
	}
	if root, _ := ConfigFromContext(ctx); root.DampeningFactor != c.DampeningFactor {
		t.Errorf("root sees the sub-scope override: %v", root.DampeningFactor)
	}

	// An empty context gives the defaults.
	if got, err := ConfigFromContext(context.New()); err != nil || got != DefaultConfig() {
		t.Errorf("empty context: %+v, %v", got, err)
	}

	// Wrong values, wrong types and unknown bio_ params are errors naming the parameter.
	for _, tc := range []struct {
		key   string
		value any
	}{
		{ParamPrefix + "dampening_factor", 1.5},
		{ParamPrefix + "dampening_factor", "high"},
		{ParamPrefix + "fuzzy_lr_update_freq", 2.5},
		{ParamPrefix + "crystalize", true},
	} {
		bad := context.New()
		DefaultConfig().SetToContext(bad)
		bad.SetParam(tc.key, tc.value)
		_, err := ConfigFromContext(bad)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s = %#v: err = %v, want one naming %q", tc.key, tc.value, err, tc.key)
		}
	}
	// An unknown param in a sibling scope is not visible, so not an error.
	other := context.New()
	other.In("elsewhere").SetParam(ParamPrefix+"typo", 1)
	if _, err := ConfigFromContext(other.In("here")); err != nil {
		t.Errorf("sibling-scope param reported: %v", err)
	}
	// Params loaded from a checkpoint's JSON may come back as float64 for ints: accepted when whole.
	ck := context.New()
	ck.SetParam(ParamPrefix+"weight_splitting_Gamma", 2.0)
	if got, err := ConfigFromContext(ck); err != nil || got.WeightSplittingGamma != 2 {
		t.Errorf("float64 int param: %v, %v", got.WeightSplittingGamma, err)
	}
}

// TestConfigCommandLineSet does what a training program does: defaults in the context, then
// commandline.ParseContextSettings with the user's -set flag value.
func TestConfigCommandLineSet(t *testing.T) {
	ctx := context.New()
	DefaultConfig().SetToContext(ctx)
	set, err := commandline.ParseContextSettings(ctx, "bio_fuzzy_learning_rate_factor_nu=0.09")
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 {
		t.Errorf("params set: %v", set)
	}
	c, err := ConfigFromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.FuzzyLearningRateFactorNu = 0.09
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}

	// Every kind of field, and a scoped setting.
	ctx = context.New()
	DefaultConfig().SetToContext(ctx)
	_, err = commandline.ParseContextSettings(ctx, "bio_weight_splitting_Gamma=2;bio_apply_dales_principle=true;"+
		"bio_fuzzy_lr_distribution=NORMAL;bio_factor_mode=update;bio_seed=1_000;"+
		"bio_weight_splitting_activation_function=ReLU6;bio_rejuvenation_parameter_dre=14;"+
		"/layer_2/bio_dampening_factor=0.5")
	if err != nil {
		t.Fatal(err)
	}
	c, err = ConfigFromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = DefaultConfig()
	want.WeightSplittingGamma = 2
	want.ApplyDalesPrinciple = true
	want.FuzzyLRDistribution = Normal
	want.FactorMode = FactorsOnUpdate
	want.Seed = 1000
	want.WeightSplittingActivation = "relu6"
	want.RejuvenationParameterDre = 14
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	layer2, err := ConfigFromContext(ctx.In("layer_2"))
	if err != nil {
		t.Fatal(err)
	}
	want.DampeningFactor = 0.5
	if layer2 != want {
		t.Errorf("layer_2: got %+v\nwant %+v", layer2, want)
	}

	// Parsing rejects a non-whole int; a parsed but out-of-range value is caught by ConfigFromContext.
	if _, err := commandline.ParseContextSettings(ctx, "bio_weight_splitting_Gamma=2.5"); err == nil {
		t.Error("bio_weight_splitting_Gamma=2.5 parsed")
	}
	if _, err := commandline.ParseContextSettings(ctx, "bio_dampening_factor=1.5"); err != nil {
		t.Fatal(err)
	}
	if _, err := ConfigFromContext(ctx); err == nil || !strings.Contains(err.Error(), "bio_dampening_factor = 1.5") {
		t.Errorf("out-of-range -set value: err = %v", err)
	}
}

func TestActivationByName(t *testing.T) {
	backend := testenv.Backend()
	inputs := []float64{-2, -0.5, 0, 0.5, 7}
	for _, tc := range []struct {
		name string
		f    func(x float64) float64
	}{
		{"identity", func(x float64) float64 { return x }},
		{"", func(x float64) float64 { return x }},
		{"relu", func(x float64) float64 { return math.Max(x, 0) }},
		{"ReLU6()", func(x float64) float64 { return math.Min(math.Max(x, 0), 6) }},
		{"tanh", math.Tanh},
		{"sigmoid", func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"leaky_relu", func(x float64) float64 { return map[bool]float64{true: x, false: 0.01 * x}[x >= 0] }},
		{"gelu", func(x float64) float64 { return x * 0.5 * (1 + math.Erf(x/math.Sqrt2)) }},
		{"silu", func(x float64) float64 { return x / (1 + math.Exp(-x)) }},
		{"elu", func(x float64) float64 { return map[bool]float64{true: x, false: math.Expm1(x)}[x > 0] }},
	} {
		fn, err := ActivationByName(tc.name)
		if err != nil {
			t.Errorf("ActivationByName(%q): %v", tc.name, err)
			continue
		}
		out, err := graph.ExecOnce(backend, func(x *graph.Node) *graph.Node { return fn(x) }, inputs)
		if err != nil {
			t.Errorf("%q: %v", tc.name, err)
			continue
		}
		got := out.Value().([]float64)
		for i, x := range inputs {
			if want := tc.f(x); math.Abs(got[i]-want) > 1e-6 {
				t.Errorf("%s(%g) = %g, want %g", tc.name, x, got[i], want)
			}
		}
	}
	if _, err := ActivationByName("softmax"); err == nil {
		t.Error("ActivationByName(softmax): no error")
	}
}

func ExampleConfigFromJSON() {
	// A config dict written by a Python user of the reference package (json.dumps).
	cfg, err := ConfigFromJSON([]byte(`{
		"fuzzy_learning_rate_factor_nu": 0.09,
		"rejuvenation_parameter_dre": 14.0,
		"weight_splitting_Gamma": 2,
		"fuzzy_lr_distribution": "Distribution.UNIFORM",
		"weight_splitting_activation_function": null
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.FuzzyLearningRateFactorNu, cfg.RejuvenationParameterDre, cfg.WeightSplittingGamma,
		cfg.FuzzyLRDistribution, cfg.WeightSplittingActivation, cfg.DampeningFactor)

	_, err = ConfigFromJSON([]byte(`{"dampening_factor": 1.5}`))
	fmt.Println(err)
	// Output:
	// 0.09 14 2 uniform identity 0.6
	// bio: dampening_factor = 1.5: must be in (0, 1)
}

// TestParamConstantsCoverKeys parses this package's source: the Param… constants with a "bio_" value must
// be exactly ParamPrefix + each of ConfigKeys, one each.
func TestParamConstantsCoverKeys(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "configio.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, "Param") || name.Name == "ParamPrefix" || i >= len(spec.Values) {
				continue
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok {
				v, _ := strconv.Unquote(lit.Value)
				got = append(got, v)
			}
		}
		return true
	})
	var want []string
	for _, k := range ConfigKeys() {
		want = append(want, ParamPrefix+k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Param constants %v\ndo not match the config keys %v", got, want)
	}
	if ParamFuzzyLearningRateFactorNu != "bio_fuzzy_learning_rate_factor_nu" || ParamSeed != "bio_seed" {
		t.Errorf("constants: %q, %q", ParamFuzzyLearningRateFactorNu, ParamSeed)
	}
}

// TestFromContextOverlays: FromContext keeps the receiver's values where the context has no parameter, as
// (*optimizers.AdamConfig).FromContext does, and leaves it unchanged on error.
func TestFromContextOverlays(t *testing.T) {
	base := DefaultConfig()
	base.Crystallize, base.DampeningFactor, base.Seed = true, 0.3, 9
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   func(c *Config)
		errHas string
	}{
		{"no params keeps everything", nil, func(*Config) {}, ""},
		{"one param overlays", map[string]any{ParamFuzzyLRMin: 0.25}, func(c *Config) { c.FuzzyLRMin = 0.25 }, ""},
		{"nil is unset", map[string]any{ParamDampeningFactor: nil}, func(*Config) {}, ""},
		{"enum", map[string]any{ParamFuzzyLRDistribution: "Distribution.GAMMA"}, func(c *Config) { c.FuzzyLRDistribution = Gamma }, ""},
		{"alias", map[string]any{"bio_fuzzy_lr_layer_total": 3}, func(c *Config) { c.FuzzyLRTotalLayers = 3 }, ""},
		{"bad value", map[string]any{ParamDampeningFactor: 2.0, ParamBaseLR: "x"}, nil, "bio_base_lr = \"x\": must be a number"},
		{"typo", map[string]any{"bio_crystalise": true}, nil, `bio_crystalise = true: unknown key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.New()
			for k, v := range tc.params {
				ctx.SetParam(k, v)
			}
			got, err := base.FromContext(ctx)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || got != base {
					t.Errorf("got %v, %v; want an error containing %q and the receiver unchanged", got, err, tc.errHas)
				}
				return
			}
			want := base
			tc.want(&want)
			if err != nil || got != want {
				t.Errorf("got %+v, %v\nwant %+v", got, err, want)
			}
		})
	}
}

// TestEnumsAsText: the enums work with encoding/json and flag.TextVar through their text methods.
func TestEnumsAsText(t *testing.T) {
	var s struct {
		D Distribution
		M FactorMode
	}
	if err := json.Unmarshal([]byte(`{"D": "LAYER-ADAPTIVE", "M": "FactorMode.UPDATE"}`), &s); err != nil ||
		s.D != LayerAdaptive || s.M != FactorsOnUpdate {
		t.Errorf("json: %+v, %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"D": "zipf"}`), &s); err == nil || !strings.Contains(err.Error(), "fuzzy_lr_distribution") {
		t.Errorf("json bad name: %v", err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	act := "identity"
	fs.TextVar(&s.D, "d", Uniform, "")
	fs.TextVar((*ActivationName)(&act), "a", ActivationName("identity"), "")
	if err := fs.Parse([]string{"-d", "gamma", "-a", "torch.nn.ReLU6()"}); err != nil || s.D != Gamma || act != "relu6" {
		t.Errorf("flags: %v %q %v", s.D, act, err)
	}
	if err := fs.Parse([]string{"-a", "softmax"}); err == nil || !strings.Contains(err.Error(), "-a") {
		t.Errorf("bad activation flag: %v", err)
	}
}
