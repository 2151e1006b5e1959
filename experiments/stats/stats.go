// Package stats holds the few statistics the experiment reports need, with gonum doing the arithmetic: mean,
// sample standard deviation, Welch's two-sample t-test (Welch–Satterthwaite degrees of freedom, two-sided
// p-value from Student's t distribution; gonum has no two-sample t-test) and Cohen's d with the pooled
// standard deviation.
//
// Functions return NaN (never panic) when a statistic is undefined, e.g. fewer than two samples or zero
// variance in both groups; callers print NaN as "–".
package stats

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Mean returns the arithmetic mean of x (gonum's stat.Mean), or NaN when x is empty.
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return stat.Mean(x, nil)
}

// Variance returns the unbiased sample variance of x (divisor n − 1, gonum's stat.Variance), or NaN when
// len(x) < 2.
func Variance(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	return stat.Variance(x, nil)
}

// Std returns the sample standard deviation of x (divisor n − 1), or NaN when len(x) < 2.
func Std(x []float64) float64 { return math.Sqrt(Variance(x)) }

// MinMax returns the smallest and largest value of x (gonum's floats.Min and floats.Max), or NaN, NaN when
// x is empty.
func MinMax(x []float64) (lo, hi float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	return floats.Min(x), floats.Max(x)
}

// TTest is the result of Welch's t-test.
type TTest struct {
	// T is the t statistic (mean(a) − mean(b)) / sqrt(var(a)/n_a + var(b)/n_b).
	T float64
	// DF is the Welch–Satterthwaite degrees of freedom.
	DF float64
	// P is the two-sided p-value, 2·(1 − F_t(|T|; DF)).
	P float64
}

// WelchTTest compares the means of a and b without assuming equal variances. All fields are NaN when either
// sample has fewer than two values or both variances are zero (the test is undefined; identical constant
// samples carry no evidence of a difference).
func WelchTTest(a, b []float64) TTest {
	nan := TTest{T: math.NaN(), DF: math.NaN(), P: math.NaN()}
	if len(a) < 2 || len(b) < 2 {
		return nan
	}
	na, nb := float64(len(a)), float64(len(b))
	va, vb := Variance(a)/na, Variance(b)/nb
	se2 := va + vb
	if se2 == 0 {
		return nan
	}
	t := (Mean(a) - Mean(b)) / math.Sqrt(se2)
	df := se2 * se2 / (va*va/(na-1) + vb*vb/(nb-1))
	p := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
	return TTest{T: t, DF: df, P: p}
}

// CohensD returns the effect size (mean(a) − mean(b)) / s_pooled, with
// s_pooled = sqrt(((n_a − 1)·var(a) + (n_b − 1)·var(b)) / (n_a + n_b − 2)). It is NaN when either sample has
// fewer than two values or the pooled standard deviation is zero.
func CohensD(a, b []float64) float64 {
	if len(a) < 2 || len(b) < 2 {
		return math.NaN()
	}
	na, nb := float64(len(a)), float64(len(b))
	pooled := math.Sqrt(((na-1)*Variance(a) + (nb-1)*Variance(b)) / (na + nb - 2))
	if pooled == 0 {
		return math.NaN()
	}
	return (Mean(a) - Mean(b)) / pooled
}
