package experiments

import (
	"math"
	"strings"
	"testing"
)

func TestSummarizeHessians(t *testing.T) {
	mk := func(variant string, seed int64, lo, hi float64) *HessianResult {
		return &HessianResult{Run: RunConfig{Variant: variant, Seed: seed}, Spectrum: Spectrum{Min: lo, Max: hi, Iterations: 5},
			Ratio: lo / hi}
	}
	results := []*HessianResult{mk("Γ2", 0, -1, 10), mk(BaselineName, 0, -2, 20), mk("Γ2", 1, -3, 30), mk(BaselineName, 1, -2, 40),
		mk("fuzzy", 0, -1, 1)}
	s := SummarizeHessians(results)
	if len(s) != 3 || s[0].Variant != BaselineName || s[1].Variant != "fuzzy" || s[2].Variant != "Γ2" {
		t.Fatalf("order: %+v", s)
	}
	g := s[2]
	// Γ2: max 10, 30 → mean 20, std √200; baseline max 20, 40 → mean 30, std √200: t = −10/√(200/2+200/2), df 2.
	tt := -10 / math.Sqrt(200)
	wantP := 1 - math.Abs(tt)/math.Sqrt(2+tt*tt)
	if g.Max.N != 2 || !near(float64(g.Max.Mean), 20, 1e-12) || !near(float64(g.Max.Std), math.Sqrt(200), 1e-12) ||
		!near(float64(g.Max.P), wantP, 1e-9) {
		t.Errorf("Γ2 max %+v, want p %v", g.Max, wantP)
	}
	if !near(float64(g.Ratio.Mean), -0.1, 1e-12) || !near(float64(s[0].Ratio.Mean), (-0.1-0.05)/2, 1e-12) {
		t.Errorf("ratios: Γ2 %+v, baseline %+v", g.Ratio, s[0].Ratio)
	}
	if !math.IsNaN(float64(s[0].Max.P)) || !math.IsNaN(float64(s[1].Max.P)) {
		t.Errorf("p for the baseline or a single run: %v %v", s[0].Max.P, s[1].Max.P)
	}
	md := MarkdownHessians(results)
	if !strings.Contains(md, "| Γ2 | 2 | 20 ± 14.14 (p ") || strings.Count(md, "\n") != 2+3+1+2+5 {
		t.Errorf("markdown:\n%s", md)
	}
}
