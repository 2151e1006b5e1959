package bio_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// run executes fn on the Go backend with float64 inputs (flat data and dims) and returns the flat float64
// outputs (booleans as 0/1).
func run(t *testing.T, fn func(in []*Node) []*Node, inputs ...*tensors.Tensor) [][]float64 {
	t.Helper()
	exec, err := NewExecAny(newBackend(t), fn)
	if err != nil {
		t.Fatal(err)
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float64, len(outs))
	for i, o := range outs {
		switch o.DType() {
		case dtypes.Float64:
			res[i] = tensors.MustCopyFlatData[float64](o)
		case dtypes.Float32:
			for _, v := range tensors.MustCopyFlatData[float32](o) {
				res[i] = append(res[i], float64(v))
			}
		case dtypes.Bool:
			for _, v := range tensors.MustCopyFlatData[bool](o) {
				if v {
					res[i] = append(res[i], 1)
				} else {
					res[i] = append(res[i], 0)
				}
			}
		default:
			t.Fatalf("unexpected dtype %s", o.DType())
		}
	}
	return res
}

func tensor(data []float64, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func randData(n int, seed uint64, scale float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64() * scale
	}
	return out
}

func moments(x []float64) (mean, std, lo, hi float64) {
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

func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
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

func TestFuzzyFactorDistributions(t *testing.T) {
	const n = 200_000
	nu := 0.1
	tests := []struct {
		dist         bio.Distribution
		mean, std    float64
		lo, hi       float64 // the range every draw must lie in
		nu, min, max float64
	}{
		{bio.Baseline, 1, 0, 1, 1, nu, 0.5, 2},
		{bio.Uniform, 1, nu / math.Sqrt(3), 1 - nu, 1 + nu, nu, 0.5, 2},
		{bio.Normal, 1, nu, 0.5, 2, nu, 0.5, 2},
		{bio.LogNormal, 1, math.Sqrt(math.Exp(nu*nu) - 1), 0.5, 2, nu, 0.5, 2},
		{bio.Gamma, 1, nu, 0.5, 2, nu, 0.5, 2},
		{bio.Beta, 1, nu / math.Sqrt(2/nu+1), 1 - nu, 1 + nu, nu, 0.5, 2},
		// Clamping: a wide uniform spread is cut to [fuzzy_lr_min, fuzzy_lr_max].
		{bio.Uniform, -1, -1, 0.8, 1.2, 0.9, 0.8, 1.2},
		// Gamma with shape < 1 (ν > 1) uses the boosted sampler: mean 1, std ν before clamping; wide clamp.
		{bio.Gamma, 1, 1.2, 0, 1e9, 1.2, 1e-12, 1e9},
	}
	for _, tc := range tests {
		t.Run(string(tc.dist), func(t *testing.T) {
			out := run(t, func(in []*Node) []*Node {
				g := in[0].Graph()
				_, s := bio.DrawFuzzyFactors(RNGStateFromSeedForGraph(g, 5), shapes.Make(dtypes.Float64, n),
					tc.dist, tc.nu, tc.min, tc.max)
				return []*Node{s}
			}, tensor([]float64{0}, 1))
			mean, std, lo, hi := moments(out[0])
			t.Logf("mean %.5f std %.5f range [%.4f, %.4f]", mean, std, lo, hi)
			if lo < tc.lo || hi > tc.hi {
				t.Fatalf("range [%g, %g] outside [%g, %g]", lo, hi, tc.lo, tc.hi)
			}
			if tc.mean >= 0 {
				// Standard error of the mean is std/√n; allow 5 standard errors.
				if se := tc.std / math.Sqrt(n); math.Abs(mean-tc.mean) > 5*se+1e-12 {
					t.Fatalf("mean %g, want %g ± %g", mean, tc.mean, 5*se)
				}
				// The sample std of n draws is within a few percent of the true one.
				if math.Abs(std-tc.std) > 0.03*tc.std+1e-12 {
					t.Fatalf("std %g, want %g", std, tc.std)
				}
			} else if math.Abs(lo-tc.lo) > 1e-6 || math.Abs(hi-tc.hi) > 1e-6 {
				t.Fatalf("clamped range [%g, %g], want exactly [%g, %g] reached", lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

func TestFuzzyFactorsReproducible(t *testing.T) {
	draw := func(seed int64) []float64 {
		return run(t, func(in []*Node) []*Node {
			_, s := bio.DrawFuzzyFactors(RNGStateFromSeedForGraph(in[0].Graph(), seed), shapes.Make(dtypes.Float32, 64),
				bio.Uniform, 0.16, 0.5, 2)
			return []*Node{s}
		}, tensor([]float64{0}, 1))[0]
	}
	a, b, c := draw(3), draw(3), draw(4)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different factor %d: %g vs %g", i, a[i], b[i])
		}
	}
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same > 2 {
		t.Fatalf("different seeds gave %d equal factors of 64", same)
	}
}

func TestLayerNuAndTemporalDecay(t *testing.T) {
	for _, tc := range []struct {
		l, total int
		want     float64
	}{{0, 4, 0.16}, {2, 4, 0.12}, {4, 4, 0.08}, {1, -1, 0.16}} {
		if got := bio.LayerNu(0.16, tc.l, tc.total); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LayerNu(0.16, %d, %d) = %g, want %g", tc.l, tc.total, got, tc.want)
		}
	}
	s := []float64{0.5, 1, 1.3, 2}
	out := run(t, func(in []*Node) []*Node { return []*Node{bio.TemporalDecay(in[0], 0.9)} }, tensor(s, 4))
	want := make([]float64, len(s))
	for i, v := range s {
		want[i] = 1 + (v-1)*0.9
	}
	assertClose(t, "TemporalDecay", out[0], want, 1e-12)
}

func TestWeightAdaptiveSpread(t *testing.T) {
	// Half the weights are tiny, half are 3× the mean magnitude: ν_ij is 1.5ν for the first half and 0.5ν for the second.
	const n = 40_000
	w := make([]float64, n)
	for i := range w {
		if i < n/2 {
			w[i] = 1e-6
		} else {
			w[i] = 1
		}
	}
	// mean|W| ≈ 0.5, so |W|/mean = 2 → clamp(2−2)=0.5; tiny weights → clamp(2−0)=1.5.
	out := run(t, func(in []*Node) []*Node {
		_, s := bio.WeightAdaptiveFactors(RNGStateFromSeedForGraph(in[0].Graph(), 1), in[0], 0.2, 0.1, 10)
		return []*Node{s}
	}, tensor(w, n))
	_, stdSmall, loS, hiS := moments(out[0][:n/2])
	_, stdLarge, loL, hiL := moments(out[0][n/2:])
	if math.Abs(stdSmall-0.3/math.Sqrt(3)) > 0.01 || math.Abs(stdLarge-0.1/math.Sqrt(3)) > 0.005 {
		t.Fatalf("std small %g (want %g), large %g (want %g)", stdSmall, 0.3/math.Sqrt(3), stdLarge, 0.1/math.Sqrt(3))
	}
	if loS < 0.7 || hiS > 1.3 || loL < 0.9 || hiL > 1.1 {
		t.Fatalf("ranges [%g,%g] and [%g,%g]", loS, hiS, loL, hiL)
	}
}

func TestActivityFactorsSpread(t *testing.T) {
	// Kernel [in=2000, out=2]; unit 0 is silent (a=0 → spread 1.5ν), unit 1 at 3× the mean... mean a = 1 here.
	const in = 20_000
	w := make([]float64, in*2)
	act := []float64{0, 2} // mean 1: unit 0 → clamp(2−0)=1.5, unit 1 → clamp(2−2)=0.5
	out := run(t, func(nodes []*Node) []*Node {
		_, s := bio.ActivityFactors(RNGStateFromSeedForGraph(nodes[0].Graph(), 2), nodes[0], nodes[1], []int{1}, 0.2, 0.1, 10)
		return []*Node{s}
	}, tensor(w, in, 2), tensor(act, 2))
	var u0, u1 []float64
	for i := 0; i < in; i++ {
		u0 = append(u0, out[0][2*i])
		u1 = append(u1, out[0][2*i+1])
	}
	_, s0, _, _ := moments(u0)
	_, s1, _, _ := moments(u1)
	if math.Abs(s0-0.3/math.Sqrt(3)) > 0.01 || math.Abs(s1-0.1/math.Sqrt(3)) > 0.004 {
		t.Fatalf("quiet unit std %g (want %g), active unit std %g (want %g)", s0, 0.3/math.Sqrt(3), s1, 0.1/math.Sqrt(3))
	}
}

// crystallizeRef is the float64 reference of the crystallization mask and factor update.
func crystallizeRef(s, w, g []float64, thresh, damp float64) (newS, mask []float64) {
	meanAbs := 0.0
	for _, v := range w {
		meanAbs += math.Abs(v)
	}
	meanAbs /= float64(len(w))
	for i := range w {
		ratio := math.Inf(1)
		if w[i] != 0 {
			ratio = math.Abs(g[i]) / math.Abs(w[i])
		}
		m := ratio < thresh || math.Abs(g[i]) > meanAbs
		if m {
			mask = append(mask, 1)
			newS = append(newS, s[i]*damp)
		} else {
			mask = append(mask, 0)
			newS = append(newS, s[i])
		}
	}
	return
}

func TestCrystallize(t *testing.T) {
	w := randData(60, 1, 0.5)
	g := randData(60, 2, 0.3)
	w[3], g[3] = 0, 1e-9 // W = 0: ratio +∞, not crystallized by the first clause
	w[7], g[7] = 0, 5    // W = 0 but a huge gradient: crystallized by the second clause
	w[9], g[9] = 0.8, 1e-6
	s := randData(60, 3, 0.1)
	for i := range s {
		s[i] += 1
	}
	const thresh, damp = 1e-3, 0.6
	out := run(t, func(in []*Node) []*Node {
		newS, mask := bio.Crystallize(in[0], in[1], in[2], thresh, damp)
		return []*Node{newS, mask}
	}, tensor(s, 6, 10), tensor(w, 6, 10), tensor(g, 6, 10))
	wantS, wantMask := crystallizeRef(s, w, g, thresh, damp)
	assertClose(t, "mask", out[1], wantMask, 0)
	assertClose(t, "factors", out[0], wantS, 1e-12)
	if out[1][3] != 0 || out[1][7] != 1 || out[1][9] != 1 {
		t.Fatalf("edge cases: mask[3]=%g (W=0, want 0), mask[7]=%g (want 1), mask[9]=%g (want 1)", out[1][3], out[1][7], out[1][9])
	}
	n := 0
	for _, m := range wantMask {
		n += int(m)
	}
	if n == 0 || n == len(wantMask) {
		t.Fatalf("degenerate test data: %d of %d crystallized", n, len(wantMask))
	}
}

func TestVolumeFactors(t *testing.T) {
	// Four weight magnitudes, many copies each: the factors of each group follow |N(μ, 0.2μ)|.
	const per = 50_000
	mags := []float64{0, 0.1, 1, 5}
	w := make([]float64, 0, per*len(mags))
	for _, m := range mags {
		for i := range per {
			if i%2 == 0 {
				w = append(w, m)
			} else {
				w = append(w, -m)
			}
		}
	}
	out := run(t, func(in []*Node) []*Node {
		_, f := bio.VolumeFactors(RNGStateFromSeedForGraph(in[0].Graph(), 9), in[0], 0.1, 2.0, 0.2)
		return []*Node{f}
	}, tensor(w, len(w)))
	for k, m := range mags {
		mu := 0.1 * math.Exp(-2*m/(m+1))
		mean, std, lo, _ := moments(out[0][k*per : (k+1)*per])
		if lo < 0 {
			t.Fatalf("negative factor %g", lo)
		}
		if math.Abs(mean-mu) > 5*0.2*mu/math.Sqrt(per) || math.Abs(std-0.2*mu) > 0.03*0.2*mu {
			t.Fatalf("|W|=%g: mean %g std %g, want %g and %g", m, mean, std, mu, 0.2*mu)
		}
	}
}

func TestRejuvenation(t *testing.T) {
	// Weights spread over [−1, 1]: the probability of replacement of a weight w is P(|N(0, m/d)| > |w|) =
	// erfc(|w|·d/(m·√2)), with m = max|W| = 1.
	const n = 100_000
	const dre = 8.0
	w := make([]float64, n)
	for i := range w {
		w[i] = -1 + 2*float64(i)/float64(n-1)
	}
	out := run(t, func(in []*Node) []*Node {
		_, newW, mask := bio.RejuvenationDraw(RNGStateFromSeedForGraph(in[0].Graph(), 4), in[0], dre)
		return []*Node{newW, mask}
	}, tensor(w, n))
	newW, mask := out[0], out[1]
	expected := 0.0
	for _, v := range w {
		expected += math.Erfc(math.Abs(v) * dre / math.Sqrt2)
	}
	got := 0.0
	var fresh []float64
	for i := range w {
		if mask[i] == 1 {
			got++
			fresh = append(fresh, newW[i])
		} else if newW[i] != w[i] {
			t.Fatalf("weight %d not replaced but changed: %g → %g", i, w[i], newW[i])
		}
	}
	if math.Abs(got-expected) > 5*math.Sqrt(expected) {
		t.Fatalf("%g weights replaced, want %g ± %g", got, expected, 5*math.Sqrt(expected))
	}
	mean, std, lo, hi := moments(fresh)
	if lo < -1 || hi > 1 || math.Abs(mean) > 0.05 || math.Abs(std-1/math.Sqrt(3)) > 0.03 {
		t.Fatalf("replacements: mean %g std %g range [%g, %g], want U(−1, 1)", mean, std, lo, hi)
	}
}

func TestDale(t *testing.T) {
	// Kernel [in=5, out=3]: signs per input unit (row).
	w := randData(15, 5, 1)
	sign := []float64{1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1, -1, 1, 1, 1}
	out := run(t, func(in []*Node) []*Node {
		return []*Node{bio.DaleProject(in[0], in[1]), bio.DaleInit(in[0], in[1])}
	}, tensor(w, 5, 3), tensor(sign, 5, 3))
	proj, init := make([]float64, 15), make([]float64, 15)
	for i := range w {
		proj[i] = math.Max(w[i]*sign[i], 0) * sign[i]
		init[i] = math.Abs(w[i]) * sign[i]
	}
	assertClose(t, "DaleProject", out[0], proj, 1e-12)
	assertClose(t, "DaleInit", out[1], init, 1e-12)

	// Drawn signs: constant along the output axes of each input unit, ±1, about half negative.
	for _, tc := range []struct {
		dims      []int
		inputAxis int
	}{{[]int{400, 3}, 0}, {[]int{3, 3, 400, 4}, 2}, {[]int{2, 400, 5}, 1}} {
		out := run(t, func(in []*Node) []*Node {
			_, s := bio.DaleSigns(RNGStateFromSeedForGraph(in[0].Graph(), 3), shapes.Make(dtypes.Float64, tc.dims...), tc.inputAxis)
			return []*Node{s}
		}, tensor([]float64{0}, 1))[0]
		// Index helper over the flat row-major layout.
		strides := make([]int, len(tc.dims))
		st := 1
		for a := len(tc.dims) - 1; a >= 0; a-- {
			strides[a] = st
			st *= tc.dims[a]
		}
		first := map[int]float64{}
		neg := 0
		for i, v := range out {
			if v != 1 && v != -1 {
				t.Fatalf("sign %g", v)
			}
			unit := (i / strides[tc.inputAxis]) % tc.dims[tc.inputAxis]
			if f, ok := first[unit]; ok && f != v {
				t.Fatalf("dims %v: input unit %d has both signs", tc.dims, unit)
			} else if !ok {
				first[unit] = v
				if v < 0 {
					neg++
				}
			}
		}
		if neg < 150 || neg > 250 {
			t.Fatalf("dims %v: %d of 400 input units inhibitory, want about half", tc.dims, neg)
		}
	}
}

func TestSynapticScalingTerm(t *testing.T) {
	// Dense kernel [in=4, out=3]; activities per output unit.
	w := randData(12, 6, 0.7)
	g := randData(12, 7, 0.1)
	a := []float64{0.2, 1.0, 0.6}
	for _, target := range []float64{-1, 0.5} {
		out := run(t, func(in []*Node) []*Node {
			return []*Node{bio.SynapticScalingTerm(in[0], in[1], in[2], []int{1}, 0.01, target)}
		}, tensor(g, 4, 3), tensor(w, 4, 3), tensor(a, 3))
		ft := target
		if ft < 0 {
			ft = (a[0] + a[1] + a[2]) / 3
		}
		want := make([]float64, 12)
		for i := range 4 {
			for j := range 3 {
				k := i*3 + j
				want[k] = g[k] - 0.01*(ft-a[j])*w[k]*math.Abs(w[k])
			}
		}
		assertClose(t, "scaled gradient", out[0], want, 1e-12)
	}
	// Conv kernel [k=2, in=2, out=2]: output units on the last axis.
	wc := randData(8, 8, 1)
	gc := make([]float64, 8)
	ac := []float64{0, 2}
	out := run(t, func(in []*Node) []*Node {
		return []*Node{bio.SynapticScalingTerm(in[0], in[1], in[2], []int{2}, 0.1, -1)}
	}, tensor(gc, 2, 2, 2), tensor(wc, 2, 2, 2), tensor(ac, 2))
	for k := range 8 {
		j := k % 2
		want := -0.1 * (1 - ac[j]) * wc[k] * math.Abs(wc[k])
		if math.Abs(out[0][k]-want) > 1e-12 {
			t.Fatalf("conv term[%d] = %g, want %g", k, out[0][k], want)
		}
		// A quiet unit (a=0 < F_T=1) gets a gradient that grows its weight: −G has the sign of W.
		if j == 0 && wc[k] != 0 && math.Signbit(-out[0][k]) != math.Signbit(wc[k]) {
			t.Fatalf("quiet unit's weight %g would shrink", wc[k])
		}
	}
}

func TestSplitGroups(t *testing.T) {
	for _, tc := range []struct {
		dims        []int
		axis, gamma int
	}{{[]int{2, 6}, 1, 2}, {[]int{2, 6}, 1, 3}, {[]int{2, 3, 4}, 2, 4}, {[]int{2, 4, 3, 2}, 1, 2}} {
		n := 1
		for _, d := range tc.dims {
			n *= d
		}
		y := randData(n, 10, 1)
		out := run(t, func(in []*Node) []*Node { return []*Node{bio.SplitGroups(in[0], tc.axis, tc.gamma)} }, tensor(y, tc.dims...))
		inner := 1
		for _, d := range tc.dims[tc.axis+1:] {
			inner *= d
		}
		c := tc.dims[tc.axis]
		want := make([]float64, n)
		for i := range y {
			unit := (i / inner) % c
			group := unit / tc.gamma
			base := i - unit*inner
			sum := 0.0
			for u := group * tc.gamma; u < (group+1)*tc.gamma; u++ {
				sum += y[base+u*inner]
			}
			want[i] = sum
		}
		assertClose(t, "split", out[0], want, 1e-12)
	}
}

func TestL1SumAndGradient(t *testing.T) {
	w1, w2 := randData(6, 11, 1), randData(4, 12, 1)
	out := run(t, func(in []*Node) []*Node {
		l1 := bio.L1Sum(in[0], in[1])
		grads := Gradient(l1, in[0], in[1])
		return []*Node{l1, grads[0], grads[1]}
	}, tensor(w1, 2, 3), tensor(w2, 4))
	sum := 0.0
	var sign1, sign2 []float64
	for _, v := range w1 {
		sum += math.Abs(v)
		sign1 = append(sign1, math.Copysign(1, v))
	}
	for _, v := range w2 {
		sum += math.Abs(v)
		sign2 = append(sign2, math.Copysign(1, v))
	}
	assertClose(t, "L1", out[0], []float64{sum}, 1e-12)
	assertClose(t, "dL1/dW1", out[1], sign1, 1e-12)
	assertClose(t, "dL1/dW2", out[2], sign2, 1e-12)
}
