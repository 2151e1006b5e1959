// Package benchvariants lists the mechanism sets whose training-step cost the step-time benchmarks measure
// against plain training: cmd/biobench and the Go benchmark of package bio share it. It lives under
// internal/ so that bio's benchmark needs neither package main nor package experiments.
package benchvariants

import (
	"fmt"
	"strings"

	"github.com/bio-transformations/go-bio/bio"
)

// Variant is one mechanism set of the benchmark.
type Variant struct {
	// ID is the stable identifier used in reports and on the command line, e.g. "fuzzy_rejuvenation".
	ID string
	// Name is a readable description, for tables.
	Name string
	// Bio is the configuration of the converter; nil for plain training (no converter).
	Bio *bio.Config
	// LowMemory runs the layers' stages one after another (bio.Converter.LowMemory).
	LowMemory bool
}

// Plain is the ID of the plain variant, the denominator of every ratio.
const Plain = "plain"

// All returns the variants in their stable order: plain SGD; every mechanism alone (fuzzy, rejuvenation
// every step, volume, crystallize, scaling, dale, l1, gamma2 = weight splitting with Γ = 2); the authors'
// training loop (fuzzy + rejuvenation every step); the reference package's documented loop (fuzzy + volume
// + crystallize + rejuvenation every step); every switch on with Γ = 2; and, with bio.Converter.LowMemory,
// the variants whose bio step holds the most memory with the stages run at once: volume, the reference's
// loop and every mechanism (ids with the suffix "_low_memory").
func All() []Variant {
	with := func(m bio.Mechanisms, gamma int) *bio.Config {
		cfg := bio.DefaultConfig()
		cfg.Mechanisms = m
		cfg.RejuvenationPeriod = 1
		cfg.WeightSplittingGamma = gamma
		return &cfg
	}
	every := bio.Mechanisms{FuzzyLearningRates: true, RejuvenateWeights: true, Crystallize: true,
		VolumeDependentLR: true, ScaleGrad: true, L1Reg: true, ApplyDalesPrinciple: true}
	return []Variant{
		{ID: Plain, Name: "plain SGD"},
		{ID: "fuzzy", Name: "fuzzy learning rates", Bio: with(bio.Mechanisms{FuzzyLearningRates: true}, 0)},
		{ID: "rejuvenation", Name: "rejuvenation every step", Bio: with(bio.Mechanisms{RejuvenateWeights: true}, 0)},
		{ID: "volume", Name: "volume-dependent lr", Bio: with(bio.Mechanisms{VolumeDependentLR: true}, 0)},
		{ID: "crystallize", Name: "crystallization", Bio: with(bio.Mechanisms{Crystallize: true}, 0)},
		{ID: "scaling", Name: "synaptic scaling", Bio: with(bio.Mechanisms{ScaleGrad: true}, 0)},
		{ID: "dale", Name: "Dale's principle", Bio: with(bio.Mechanisms{ApplyDalesPrinciple: true}, 0)},
		{ID: "l1", Name: "L1 regularisation", Bio: with(bio.Mechanisms{L1Reg: true}, 0)},
		{ID: "gamma2", Name: "weight splitting Γ=2", Bio: with(bio.Mechanisms{}, 2)},
		{ID: "fuzzy_rejuvenation", Name: "fuzzy + rejuvenation every step (authors' loop)",
			Bio: with(bio.Mechanisms{FuzzyLearningRates: true, RejuvenateWeights: true}, 0)},
		{ID: "reference_loop", Name: "fuzzy + volume + crystallize + rejuvenation every step (reference's loop)",
			Bio: with(bio.Mechanisms{FuzzyLearningRates: true, VolumeDependentLR: true, Crystallize: true,
				RejuvenateWeights: true}, 0)},
		{ID: "all", Name: "every mechanism + Γ=2", Bio: with(every, 2)},
		{ID: "volume_low_memory", Name: "volume-dependent lr, low memory",
			Bio: with(bio.Mechanisms{VolumeDependentLR: true}, 0), LowMemory: true},
		{ID: "reference_loop_low_memory", Name: "reference's loop, low memory", Bio: with(bio.Mechanisms{
			FuzzyLearningRates: true, VolumeDependentLR: true, Crystallize: true, RejuvenateWeights: true}, 0), LowMemory: true},
		{ID: "all_low_memory", Name: "every mechanism + Γ=2, low memory", Bio: with(every, 2), LowMemory: true},
	}
}

// IDs returns the IDs of All, in order.
func IDs() []string {
	var ids []string
	for _, v := range All() {
		ids = append(ids, v.ID)
	}
	return ids
}

// Select returns the variants named by ids, in the stable order of All, with plain always first (it is the
// denominator of the ratios). An empty list selects every variant. An unknown or repeated ID is an error.
func Select(ids []string) ([]Variant, error) {
	if len(ids) == 0 {
		return All(), nil
	}
	want := map[string]bool{Plain: true}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if !isID(id) {
			return nil, fmt.Errorf("unknown variant %q: allowed are %s", id, strings.Join(IDs(), ", "))
		}
		if want[id] && id != Plain {
			return nil, fmt.Errorf("variant %q is listed twice", id)
		}
		want[id] = true
	}
	var vs []Variant
	for _, v := range All() {
		if want[v.ID] {
			vs = append(vs, v)
		}
	}
	return vs, nil
}

func isID(id string) bool {
	for _, v := range IDs() {
		if v == id {
			return true
		}
	}
	return false
}
