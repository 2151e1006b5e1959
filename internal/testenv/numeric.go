package testenv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// RandNormal returns n draws of N(0, scale²) from a PCG stream seeded with seed.
func RandNormal(n int, seed uint64, scale float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64() * scale
	}
	return out
}

// Moments returns the mean, the sample standard deviation, the minimum and the maximum of x.
func Moments(x []float64) (mean, std, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range x {
		mean += v
		lo, hi = min(lo, v), max(hi, v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1)), lo, hi
}

// AssertClose fails t unless got and want have the same length and every |got − want| ≤ tol·(1 + |want|).
func AssertClose(t testing.TB, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}
