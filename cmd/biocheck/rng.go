package main

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// rngSamples is the size of each sample drawn by the RNG check.
const rngSamples = 100_000

// RNGReport compares GoMLX's in-graph random numbers on the two backends from the same RNG state.
type RNGReport struct {
	// BitsIdentical: the uniform samples are bit for bit the same.
	BitsIdentical bool `json:"bits_identical"`
	// Uniform and Normal compare the two samples of rngSamples draws.
	Uniform SampleComparison `json:"uniform"`
	Normal  SampleComparison `json:"normal"`
	// KSCritical is the two-sample Kolmogorov–Smirnov distance beyond which the samples are judged to come
	// from different distributions (significance 1e-4).
	KSCritical float64  `json:"ks_critical"`
	Failures   []string `json:"failures,omitempty"`
}

// SampleComparison describes two samples of one distribution.
type SampleComparison struct {
	Mean [2]float64 `json:"mean"`
	Std  [2]float64 `json:"std"`
	KS   float64    `json:"ks_distance"`
}

// checkRNG draws uniform and normal samples from the same seed on both backends and compares them.
func checkRNG(ref, target backends.Backend, seed int64) (*RNGReport, error) {
	var uniform, normal [2][]float64
	for i, b := range []backends.Backend{ref, target} {
		ctx := context.New()
		if err := ctx.SetRNGStateFromSeed(seed); err != nil {
			return nil, err
		}
		shape := shapes.Make(dtypes.Float32, rngSamples)
		out, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) (*graph.Node, *graph.Node) {
			return ctx.RandomUniform(g, shape), ctx.RandomNormal(g, shape)
		})
		if err != nil {
			return nil, fmt.Errorf("drawing on %s: %w", b.Name(), err)
		}
		uniform[i], normal[i] = flatFloat64(out[0]), flatFloat64(out[1])
	}
	rep := &RNGReport{BitsIdentical: slices.Equal(uniform[0], uniform[1]),
		KSCritical: math.Sqrt(-math.Log(1e-4/2)/2) * math.Sqrt(2.0/rngSamples)}
	rep.Uniform = compareSamples(uniform)
	rep.Normal = compareSamples(normal)
	for name, s := range map[string]SampleComparison{"uniform": rep.Uniform, "normal": rep.Normal} {
		if s.KS > rep.KSCritical {
			rep.Failures = append(rep.Failures, fmt.Sprintf("rng %s: Kolmogorov–Smirnov distance %.4g > %.4g",
				name, s.KS, rep.KSCritical))
		}
	}
	return rep, nil
}

func compareSamples(s [2][]float64) SampleComparison {
	var c SampleComparison
	c.Mean[0], c.Std[0] = meanStd(s[0])
	c.Mean[1], c.Std[1] = meanStd(s[1])
	c.KS = ksDistance(s[0], s[1])
	return c
}

// ksDistance is the two-sample Kolmogorov–Smirnov statistic: the largest distance between the empirical
// distribution functions of a and b.
func ksDistance(a, b []float64) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	var i, j int
	d := 0.0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}
