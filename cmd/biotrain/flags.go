package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/ui/commandline"
)

// bioFlag is a flag.Value for one bio.Config field: it checks the syntax of its type when set (so that
// flag.Parse reports a bad value with the flag's name) and keeps the raw string for bio.Config.Update,
// which checks ranges.
type bioFlag struct {
	key   string
	kind  reflect.Kind
	value string
	set   bool
}

// String implements flag.Value: the value as given.
func (f *bioFlag) String() string { return f.value }

// IsBoolFlag lets boolean mechanism switches be given without a value, e.g. -crystallize.
func (f *bioFlag) IsBoolFlag() bool { return f.kind == reflect.Bool }

// Set implements flag.Value, checking the value's type against the config field's.
func (f *bioFlag) Set(s string) error {
	switch f.kind {
	case reflect.Bool:
		if _, err := strconv.ParseBool(s); err != nil {
			return fmt.Errorf("want true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64); err != nil {
			return fmt.Errorf("want an integer")
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("want a number")
		}
	}
	f.value, f.set = s, true
	return nil
}

// bioFlags holds the flags of every bio.Config field (named by the reference's snake_case keys), plus
// -config (a JSON file) and -set (GoMLX-style "bio_key=value;...").
type bioFlags struct {
	flags  []*bioFlag
	config *string
	set    *string
}

// addBioFlags registers one flag per bio.Config field on fs (named by its json key), with defaults taken from
// defaults; the bio "seed" is not a flag: every run sets it to its own -seed.
func addBioFlags(fs *flag.FlagSet, defaults bio.Config) *bioFlags {
	bf := &bioFlags{}
	t := reflect.TypeOf(defaults)
	v := reflect.ValueOf(defaults)
	for _, field := range reflect.VisibleFields(t) {
		key := strings.Split(field.Tag.Get("json"), ",")[0]
		if field.Anonymous || key == "" || key == "-" || key == "seed" { // The bio seed is the run's -seed.
			continue
		}
		f := &bioFlag{key: key, kind: field.Type.Kind(), value: fmt.Sprint(v.FieldByIndex(field.Index).Interface())}
		bf.flags = append(bf.flags, f)
		fs.Var(f, key, fmt.Sprintf("bio config %s (%s)", key, kindName(f.kind)))
	}
	bf.config = fs.String("config", "", "JSON file with a bio config (reference snake_case keys); explicit flags override it")
	bf.set = fs.String("set", "", `GoMLX-style settings of the bio config, e.g. "bio_fuzzy_learning_rate_factor_nu=0.09;bio_crystallize=true"; applied last`)
	return bf
}

// apply returns base updated by -config, then by the explicitly given bio flags, then by -set. Errors name
// the file, flag or setting at fault.
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
	m := map[string]any{}
	var names []string
	for _, f := range bf.flags {
		if f.set {
			m[f.key] = f.value
			names = append(names, "-"+f.key)
		}
	}
	if len(m) > 0 {
		var err error
		sort.Strings(names)
		if cfg, err = cfg.Update(m); err != nil {
			return cfg, fmt.Errorf("flags %s: %w", strings.Join(names, " "), err)
		}
	}
	if *bf.set != "" {
		ctx := context.New()
		cfg.SetToContext(ctx)
		if _, err := commandline.ParseContextSettings(ctx, *bf.set); err != nil {
			return cfg, fmt.Errorf("-set %q: %w", *bf.set, err)
		}
		updated, err := bio.ConfigFromContext(ctx)
		if err != nil {
			return cfg, fmt.Errorf("-set %q: %w", *bf.set, err)
		}
		cfg = updated
	}
	return cfg, nil
}

// anySet reports whether any bio flag, -config or -set was given.
func (bf *bioFlags) anySet() bool {
	for _, f := range bf.flags {
		if f.set {
			return true
		}
	}
	return *bf.config != "" || *bf.set != ""
}

// kindName describes the expected value of a flag of the given kind.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true/false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "string"
}
