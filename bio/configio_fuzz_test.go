package bio

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// checkConfigResult is shared by the fuzz tests: an accepted config is valid and survives ToMap and JSON
// unchanged; a rejected one gives only errors that start with "bio:" and, for field errors, name a key that
// was given (or a config key, for range rules between fields).
func checkConfigResult(t *testing.T, c Config, err error, given map[string]bool) {
	if err == nil {
		if verr := c.Validate(); verr != nil {
			t.Fatalf("accepted an invalid config: %v", verr)
		}
		data, merr := json.Marshal(c.ToMap())
		if merr != nil {
			t.Fatal(merr)
		}
		back, berr := ConfigFromJSON(data)
		if berr != nil || back != c {
			t.Fatalf("round trip through %s: %+v, %v", data, back, berr)
		}
		return
	}
	for _, e := range flattenErrors(err) {
		if !strings.HasPrefix(e.Error(), "bio: ") {
			t.Fatalf("error %q lacks the package prefix", e)
		}
		var fe *ConfigFieldError
		if errors.As(e, &fe) && !given[fe.Field] && !given[ParamPrefix+fe.Field] {
			if _, ok := cfgFieldByName[fe.Field]; !ok {
				t.Fatalf("error %q names %q, neither a given key nor a config key", e, fe.Field)
			}
		}
		if fe != nil && fe.Rule == "" {
			t.Fatalf("error %q does not say what is wrong", e)
		}
	}
}

func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// FuzzConfigFromJSON decodes arbitrary bytes as a config JSON object.
func FuzzConfigFromJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"dampening_factor": 0.5}`, `{"fuzzy_lr_distribution": "Distribution.NORMAL"}`,
		`{"weight_splitting_Gamma": 2.0, "seed": 12345678901234567}`, `{"fuzzy_lr_layer_total": 3, "fuzzy_lr_layer_index": 2}`,
		`{"crystallize": 1}`, `null`, `[1]`, `{"weight_splitting_activation_function": null}`, `{"dampening_factor": 1e999}`,
		`{"nope": {"a": [1, 2]}}`, `{"fuzzy_lr_min": 3, "fuzzy_lr_max": 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ConfigFromJSON(data)
		given := map[string]bool{}
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) == nil {
			for k := range m {
				given[k] = true
			}
		}
		checkConfigResult(t, c, err, given)
	})
}

// FuzzConfigUpdate applies one key of any value type to the defaults through Update, as a Python dict or a
// Go map would, and checks that a failed Update leaves the receiver unchanged.
func FuzzConfigUpdate(f *testing.F) {
	f.Add("dampening_factor", byte(0), "", 0.5, int64(0), false)
	f.Add("weight_splitting_Gamma", byte(1), "", 0.0, int64(2), false)
	f.Add("fuzzy_lr_distribution", byte(2), "LogNormal", 0.0, int64(0), false)
	f.Add("crystallize", byte(3), "", 0.0, int64(0), true)
	f.Add("seed", byte(4), "1e3", 0.0, int64(0), false)
	f.Add("bio_typo", byte(5), "", 0.0, int64(0), false)
	f.Fuzz(func(t *testing.T, key string, kind byte, s string, x float64, i int64, b bool) {
		values := []any{x, i, s, b, json.Number(s), nil, float32(x), uint64(i), int(i), Distribution(s)}
		value := values[int(kind)%len(values)]
		base := DefaultConfig()
		before := base
		c, err := base.Update(map[string]any{key: value})
		if err != nil && c != before {
			t.Fatalf("failed Update returned a changed config")
		}
		checkConfigResult(t, c, err, map[string]bool{key: true})
	})
}
