package experiments

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// HessianSummary is the Hessian measurement of one variant over its runs (seeds).
type HessianSummary struct {
	Variant string `json:"variant"`
	// Max, Min and Ratio summarise the largest and smallest eigenvalues and their ratio Min/Max, with Welch's
	// t-test against the baseline's runs.
	Max   MeasureStat `json:"max"`
	Min   MeasureStat `json:"min"`
	Ratio MeasureStat `json:"ratio"`
}

// SummarizeHessians groups results by variant (the baseline first, then by name) and summarises each.
func SummarizeHessians(results []*HessianResult) []HessianSummary {
	byVariant := map[string][]*HessianResult{}
	for _, r := range results {
		byVariant[r.Run.Variant] = append(byVariant[r.Run.Variant], r)
	}
	names := make([]string, 0, len(byVariant))
	for name := range byVariant {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(boolRank(a != BaselineName), boolRank(b != BaselineName)), strings.Compare(a, b))
	})
	values := func(name string, f func(*HessianResult) float64) []float64 {
		var out []float64
		for _, r := range byVariant[name] {
			out = append(out, f(r))
		}
		return out
	}
	get := []func(*HessianResult) float64{
		func(r *HessianResult) float64 { return r.Max },
		func(r *HessianResult) float64 { return r.Min },
		func(r *HessianResult) float64 { return r.Ratio },
	}
	var out []HessianSummary
	for _, name := range names {
		var stat [3]MeasureStat
		for i, f := range get {
			var base []float64
			if name != BaselineName {
				base = values(BaselineName, f)
			}
			stat[i] = measureStat(values(name, f), base)
		}
		out = append(out, HessianSummary{Variant: name, Max: stat[0], Min: stat[1], Ratio: stat[2]})
	}
	return out
}

// boolRank orders false before true.
func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// MarkdownHessians renders the summaries per variant and, below, every measurement.
func MarkdownHessians(results []*HessianResult) string {
	var b strings.Builder
	b.WriteString("| variant | runs | largest eigenvalue | smallest eigenvalue | ratio min/max |\n|---|---|---|---|---|\n")
	for _, s := range SummarizeHessians(results) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", s.Variant, s.Max.N, measureCell(s.Max, 1, "%.4g"),
			measureCell(s.Min, 1, "%.4g"), measureCell(s.Ratio, 1, "%.4g"))
	}
	b.WriteString("\n| run | seed | loss | largest | smallest | ratio | Lanczos steps | seconds |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %.5f | %.6g | %.6g | %.4g | %d | %.0f |\n", r.Run.Variant, r.Run.Seed, r.Loss, r.Max,
			r.Min, r.Ratio, r.Iterations, r.Seconds)
	}
	return b.String()
}
