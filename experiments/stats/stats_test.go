package stats

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestDescriptive(t *testing.T) {
	tests := []struct {
		x                   []float64
		mean, variance, std float64
		lo, hi              float64
	}{
		{[]float64{1, 2, 3, 4, 5}, 3, 2.5, math.Sqrt(2.5), 1, 5},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 32.0 / 7, math.Sqrt(32.0 / 7), 2, 9},
		{[]float64{7}, 7, math.NaN(), math.NaN(), 7, 7},
		{nil, math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()},
	}
	for _, tc := range tests {
		lo, hi := MinMax(tc.x)
		if !near(Mean(tc.x), tc.mean, 1e-12) || !near(Variance(tc.x), tc.variance, 1e-12) ||
			!near(Std(tc.x), tc.std, 1e-12) || !near(lo, tc.lo, 0) || !near(hi, tc.hi, 0) {
			t.Errorf("%v: mean %v var %v std %v min %v max %v; want %v %v %v %v %v", tc.x, Mean(tc.x), Variance(tc.x),
				Std(tc.x), lo, hi, tc.mean, tc.variance, tc.std, tc.lo, tc.hi)
		}
	}
}

// Reference values computed by hand:
//   - a=[0,2], b=[3,5]: var 2 and 2, se² = 1+1 = 2, t = −3/√2, df = 2²/(1/1+1/1) = 2; with 2 degrees of freedom
//     F(t) = 1/2 + t/(2√(2+t²)), so p = 1 − |t|/√(2+t²) = 1 − 2.1213203/2.5495098 = 0.1679497;
//     s_pooled = √2, d = −3/√2.
//   - a=[1..5], b=[2,4,..,10]: var 2.5 and 10, se² = 0.5+2 = 2.5, t = −3/√2.5 = −1.8973666,
//     df = 6.25/(0.25/4 + 4/4) = 5.8823529; s_pooled = √((4·2.5+4·10)/8) = 2.5, d = −1.2.
//   - Large equal samples: df → 2n−2 and p close to the normal 2(1−Φ(|t|)).
func TestWelchAndCohen(t *testing.T) {
	tests := []struct {
		name      string
		a, b      []float64
		tt, df, p float64
		pTol      float64
		d         float64
	}{
		{"df2", []float64{0, 2}, []float64{3, 5}, -3 / math.Sqrt2, 2, 1 - 3/math.Sqrt2/math.Sqrt(6.5), 1e-9, -3 / math.Sqrt2},
		{"unequal-var", []float64{1, 2, 3, 4, 5}, []float64{2, 4, 6, 8, 10}, -3 / math.Sqrt(2.5), 6.25 / 1.0625, math.NaN(), 0, -1.2},
		{"swapped", []float64{2, 4, 6, 8, 10}, []float64{1, 2, 3, 4, 5}, 3 / math.Sqrt(2.5), 6.25 / 1.0625, math.NaN(), 0, 1.2},
		{"identical-constant", []float64{1, 1, 1}, []float64{1, 1, 1}, math.NaN(), math.NaN(), math.NaN(), 0, math.NaN()},
		{"too-few", []float64{1}, []float64{1, 2, 3}, math.NaN(), math.NaN(), math.NaN(), 0, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := WelchTTest(tc.a, tc.b)
			if !near(r.T, tc.tt, 1e-9) || !near(r.DF, tc.df, 1e-9) {
				t.Errorf("t=%v df=%v; want t=%v df=%v", r.T, r.DF, tc.tt, tc.df)
			}
			if !math.IsNaN(tc.p) && !near(r.P, tc.p, tc.pTol) {
				t.Errorf("p=%v; want %v", r.P, tc.p)
			}
			if d := CohensD(tc.a, tc.b); !near(d, tc.d, 1e-12) {
				t.Errorf("d=%v; want %v", d, tc.d)
			}
		})
	}
	// The p-value of the unequal-variance case lies between those of t-distributions with 5 and 6 degrees of
	// freedom at |t| = 1.8973666 (two-sided tables: about 0.116 and 0.107).
	r := WelchTTest([]float64{1, 2, 3, 4, 5}, []float64{2, 4, 6, 8, 10})
	if r.P < 0.105 || r.P > 0.118 {
		t.Errorf("unequal-var p=%v, want within [0.105, 0.118]", r.P)
	}
	// Large samples: t ≈ z; a shift of 1 with std ≈ 1 and n = 2000 gives p ≈ 0.
	a, b := make([]float64, 2000), make([]float64, 2000)
	for i := range a {
		a[i] = float64(i%2)*2 - 1 // ±1
		b[i] = a[i] + 0.1
	}
	r = WelchTTest(a, b)
	z := -0.1 / math.Sqrt(2*Variance(a)/2000)
	wantP := math.Erfc(math.Abs(z) / math.Sqrt2)
	if !near(r.DF, 3998, 1e-6) || !near(r.P, wantP, 2e-4) {
		t.Errorf("large samples: df=%v p=%v; want 3998 and ≈%v", r.DF, r.P, wantP)
	}
}
