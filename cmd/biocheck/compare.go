package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Tolerances are the limits of the comparisons; the report states them.
type Tolerances struct {
	// RelTol and AbsTol: in deterministic comparisons an element agrees when |a−b| ≤ AbsTol + RelTol·max|b|
	// (max over the variable). XLA fuses multiply-adds and orders sums differently, so float32 results
	// differ in the last bits, and the differences grow a little with every step.
	RelTol float64 `json:"rel_tol"`
	AbsTol float64 `json:"abs_tol"`
	// MaxOffFraction of a variable's elements may be beyond the tolerance: a threshold decision
	// (crystallization mask, rejuvenation test, Dale sign) can flip for an element that sits at the
	// threshold, and that element then differs by much more.
	MaxOffFraction float64 `json:"max_off_fraction"`
	// MeanSigmas and StdRel: in distribution comparisons the means must agree within MeanSigmas standard
	// errors (std/√n of the larger std, plus AbsTol) and the standard deviations within StdRel relative.
	MeanSigmas float64 `json:"mean_sigmas"`
	StdRel     float64 `json:"std_rel"`
	// MinElements: distribution comparisons of variables with fewer elements are reported, not judged.
	MinElements int `json:"min_elements"`
	// LossRelTol: the losses of deterministic cases agree within AbsTol + LossRelTol·|loss| (a loss sums
	// over the batch and, with L1, over every weight).
	LossRelTol float64 `json:"loss_rel_tol"`
}

var defaultTolerances = Tolerances{RelTol: 1e-4, AbsTol: 1e-6, MaxOffFraction: 2e-3, MeanSigmas: 6, StdRel: 0.1,
	MinElements: 100, LossRelTol: 1e-3}

// VarComparison compares one context variable on the two backends.
type VarComparison struct {
	Variable  string  `json:"variable"`
	DType     string  `json:"dtype"`
	Size      int     `json:"size"`
	Identical bool    `json:"identical"`
	MaxAbs    float64 `json:"max_abs_diff"`
	// OffFraction is the fraction of elements beyond the deterministic tolerance.
	OffFraction float64 `json:"off_fraction"`
	// SignFlips is the fraction of elements with opposite signs (Dale's principle).
	SignFlips float64    `json:"sign_flips"`
	Mean      [2]float64 `json:"mean"`
	Std       [2]float64 `json:"std"`
	Judged    string     `json:"judged"`
	OK        bool       `json:"ok"`
	Why       string     `json:"why,omitempty"`
}

// compareContexts compares every variable of a with the variable of the same scope and name in b:
// deterministically or, when distribution is set, by distribution. Integer variables (the RNG state, step
// counters) are reported, not judged: the backends' RNGs update their state differently. The trainers'
// own metrics (scope /metrics, with a random identifier per trainer) are left out.
func compareContexts(a, b *context.Context, distribution bool, tol Tolerances) []VarComparison {
	var out []VarComparison
	for va := range a.IterVariables() {
		if strings.HasPrefix(va.Scope(), "/metrics") {
			continue
		}
		vc := VarComparison{Variable: va.ScopeAndName(), DType: va.Shape().DType.String(), Size: va.Shape().Size(), OK: true}
		vb := b.GetVariableByScopeAndName(va.Scope(), va.Name())
		if vb == nil {
			vc.OK, vc.Why = false, "missing on the checked backend"
			out = append(out, vc)
			continue
		}
		ta, erra := va.Value()
		tb, errb := vb.Value()
		if erra != nil || errb != nil {
			vc.OK, vc.Why = false, fmt.Sprintf("no value: %v / %v", erra, errb)
			out = append(out, vc)
			continue
		}
		fa, fb := flatFloat64(ta), flatFloat64(tb)
		if len(fa) != len(fb) {
			vc.OK, vc.Why = false, fmt.Sprintf("shapes differ: %s vs %s", ta.Shape(), tb.Shape())
			out = append(out, vc)
			continue
		}
		vc.fill(fa, fb, tol)
		switch {
		case !va.Shape().DType.IsFloat():
			vc.Judged = "reported"
		case distribution:
			vc.judgeDistribution(tol)
		default:
			vc.judgeDeterministic(tol)
		}
		out = append(out, vc)
	}
	return out
}

// fill computes the statistics of a (reference) and b.
func (vc *VarComparison) fill(a, b []float64, tol Tolerances) {
	maxRef := 0.0
	for _, v := range b {
		maxRef = max(maxRef, math.Abs(v))
	}
	limit := tol.AbsTol + tol.RelTol*maxRef
	off, flips := 0, 0
	vc.Identical = true
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			vc.Identical = false
		}
		vc.MaxAbs = max(vc.MaxAbs, d)
		if d > limit || math.IsNaN(d) {
			off++
		}
		if a[i]*b[i] < 0 {
			flips++
		}
	}
	if n := float64(len(a)); n > 0 {
		vc.OffFraction, vc.SignFlips = float64(off)/n, float64(flips)/n
	}
	vc.Mean[0], vc.Std[0] = meanStd(a)
	vc.Mean[1], vc.Std[1] = meanStd(b)
}

func (vc *VarComparison) judgeDeterministic(tol Tolerances) {
	vc.Judged = "deterministic"
	if vc.OffFraction > tol.MaxOffFraction || (float64(vc.Size) < 1/tol.MaxOffFraction && vc.OffFraction > 0) {
		vc.OK = false
		vc.Why = fmt.Sprintf("%.3g%% of the elements differ by more than %g + %g·max|x| (max |Δ| %.3g)",
			100*vc.OffFraction, tol.AbsTol, tol.RelTol, vc.MaxAbs)
	}
}

func (vc *VarComparison) judgeDistribution(tol Tolerances) {
	if vc.Size < tol.MinElements {
		vc.Judged = "reported (too few elements)"
		return
	}
	vc.Judged = "distribution"
	s := max(vc.Std[0], vc.Std[1])
	if d := math.Abs(vc.Mean[0] - vc.Mean[1]); d > tol.MeanSigmas*s/math.Sqrt(float64(vc.Size))+tol.AbsTol {
		vc.OK = false
		vc.Why = fmt.Sprintf("means %.4g vs %.4g differ by more than %g standard errors", vc.Mean[0], vc.Mean[1], tol.MeanSigmas)
		return
	}
	if s > 0 && math.Abs(vc.Std[0]-vc.Std[1]) > tol.StdRel*s {
		vc.OK = false
		vc.Why = fmt.Sprintf("standard deviations %.4g vs %.4g differ by more than %g%%", vc.Std[0], vc.Std[1], 100*tol.StdRel)
	}
}

// checkLossesAndTelemetry compares the losses of the steps (deterministic cases: within LossRelTol, the
// L1 term included) and the telemetry of each layer: crystallized fractions (deterministic cases: within
// MaxOffFraction) and rejuvenated fractions, two binomial draws over the layer's n weights, within
// MeanSigmas·√(2p(1−p)/n) + 1/n. ref gives the layers' weight counts.
func checkLossesAndTelemetry(c checkCase, cr *CaseReport, ref *context.Context, tol Tolerances) []string {
	var fails []string
	if !c.drawsEveryStep {
		for i := range cr.Losses[0] {
			a, b := cr.Losses[0][i], cr.Losses[1][i]
			if math.Abs(a-b) > tol.AbsTol+tol.LossRelTol*math.Abs(a) {
				fails = append(fails, fmt.Sprintf("%s steps: loss of step %d: %.7g vs %.7g", c.name, i+2, a, b))
			}
		}
	}
	if len(cr.Telemetry[0]) != len(cr.Telemetry[1]) {
		return append(fails, fmt.Sprintf("%s telemetry: %d vs %d layers", c.name, len(cr.Telemetry[0]), len(cr.Telemetry[1])))
	}
	for i, a := range cr.Telemetry[0] {
		b := cr.Telemetry[1][i]
		if d := math.Abs(a.Crystallized - b.Crystallized); !c.drawsEveryStep && d > tol.MaxOffFraction {
			fails = append(fails, fmt.Sprintf("%s telemetry %s: crystallized %.4g vs %.4g", c.name, a.Scope, a.Crystallized, b.Crystallized))
		}
		n := 100.0 // when the layer's weights are not found: a loose bound
		if v := ref.GetVariableByScopeAndName(a.Scope, "weights"); v != nil {
			n = float64(v.Shape().Size())
		}
		p := (a.Rejuvenated + b.Rejuvenated) / 2
		if d := math.Abs(a.Rejuvenated - b.Rejuvenated); d > tol.MeanSigmas*math.Sqrt(2*p*(1-p)/n)+1/n {
			fails = append(fails, fmt.Sprintf("%s telemetry %s: rejuvenated %.4g vs %.4g", c.name, a.Scope, a.Rejuvenated, b.Rejuvenated))
		}
	}
	return fails
}

func meanStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

// flatFloat64 returns the tensor's elements as float64 (booleans as 0/1).
func flatFloat64(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = convertAll(f)
		case []float64:
			out = convertAll(f)
		case []int32:
			out = convertAll(f)
		case []int64:
			out = convertAll(f)
		case []uint64:
			out = convertAll(f)
		case []uint32:
			out = convertAll(f)
		case []bool:
			out = make([]float64, len(f))
			for i, b := range f {
				if b {
					out[i] = 1
				}
			}
		}
	})
	return out
}

func convertAll[T float32 | float64 | int32 | int64 | uint32 | uint64](x []T) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func toFloat64(v any) float64 {
	switch x := v.(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}
