package bio

import (
	"math"
	"testing"

	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// run executes fn on the Go backend with float64 inputs (flat data and dims) and returns the flat float64
// outputs (booleans as 0/1).
func run(t *testing.T, fn func(in []*Node) []*Node, inputs ...*tensors.Tensor) [][]float64 {
	t.Helper()
	exec, err := NewExecAny(testenv.Backend(), fn)
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

var (
	randData    = testenv.RandNormal
	moments     = testenv.Moments
	assertClose = func(t *testing.T, what string, got, want []float64, tol float64) {
		t.Helper()
		testenv.AssertClose(t, what, got, want, tol)
	}
)

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
		newS, mask := crystallize(in[0], absolute(in[1]), in[2], thresh, damp)
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
		r := &rngStream{state: RNGStateFromSeedForGraph(in[0].Graph(), 9)}
		f := Mul(volumeMu(absolute(in[0]), 0.1, 2.0), volumeSpread(r, in[0].Shape(), 0.2))
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
		r := &rngStream{state: RNGStateFromSeedForGraph(in[0].Graph(), 4)}
		fresh, mask := rejuvenationDraw(r, absolute(in[0]), dre, nil)
		return []*Node{Where(mask, fresh, in[0]), mask}
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

// TestRejuvenationInHalves checks that rejuvenationDraw, which computes erfc on the two halves of a large
// kernel (inHalves), gives bit for bit the masks and replacements of its rule computed on the whole kernel
// with the same uniform draws, and that it splits exactly the kernels it should (on the Go backend).
func TestRejuvenationInHalves(t *testing.T) {
	for _, tc := range []struct {
		dims  []int
		split bool
	}{
		{[]int{784, 1000}, true},    // FCNet's hidden kernel: even halves
		{[]int{301, 300}, true},     // odd leading axis: 150 and 151 rows
		{[]int{100_001}, true},      // a vector
		{[]int{3, 3, 8, 16}, false}, // smaller than minSplitSize
		{[]int{1, 70_000}, false},   // leading axis 1
	} {
		n := 1
		for _, d := range tc.dims {
			n *= d
		}
		w32 := make([]float32, n)
		for i, v := range randData(n, 9, 1) {
			w32[i] = float32(v)
		}
		splits := -1
		out := run(t, func(in []*Node) []*Node {
			g := in[0].Graph()
			seed := RNGStateFromSeedForGraph(g, 5)
			absW := absolute(in[0])
			before := countConcatenates(g)
			fresh, mask := rejuvenationDraw(&rngStream{state: seed}, absW, 8, nil)
			splits = countConcatenates(g) - before
			// The rule on the whole kernel, as rejuvenationDraw's doc states it.
			m := maxAll(absW)
			p := erfc(Mul(absW, DivScalar(Reciprocal(m), math.Sqrt2/8)))
			ratio := Div((&rngStream{state: seed}).uniform(absW.Shape()), p)
			wantMask := LessThan(ratio, ScalarOne(g, ratio.DType()))
			wantFresh := Sub(Mul(ratio, MulScalar(m, 2)), m)
			zero := ZerosLike(fresh)
			return []*Node{Where(mask, fresh, zero), mask, Where(wantMask, wantFresh, zero), wantMask}
		}, tensors.FromFlatDataAndDimensions(w32, tc.dims...))
		_, goBackend := testenv.Backend().(*simplego.Backend) // only the Go backend gets the halves
		if got, want := splits > 0, tc.split && goBackend; got != want {
			t.Errorf("%v: split %v (%d concatenations), want %v", tc.dims, got, splits, want)
		}
		replaced := 0
		for i := range out[0] {
			if out[0][i] != out[2][i] || out[1][i] != out[3][i] {
				t.Fatalf("%v: element %d: replacement %g mask %g, on the whole kernel %g and %g", tc.dims, i,
					out[0][i], out[1][i], out[2][i], out[3][i])
			}
			replaced += int(out[1][i])
		}
		if replaced == 0 {
			t.Errorf("%v: nothing replaced: the comparison checked nothing", tc.dims)
		}
	}
}

// countConcatenates is the number of Concatenate ops in g.
func countConcatenates(g *Graph) int {
	n := 0
	for _, node := range g.Nodes() {
		if node.Type() == NodeTypeConcatenate {
			n++
		}
	}
	return n
}

// TestZeroAfter checks that the anchor is 0 whatever the first element of its source: finite, infinite or
// NaN (a NaN gradient must not reach the stages through the anchor).
func TestZeroAfter(t *testing.T) {
	for _, first := range []float64{0, 3.5, -1e30, 5e-324, math.Inf(1), math.Inf(-1), math.NaN()} {
		out := run(t, func(in []*Node) []*Node {
			return []*Node{zeroAfter(in[0], dtypes.Float32), zeroAfter(in[0], dtypes.Float64)}
		}, tensor([]float64{first, 7, 8, 9}, 2, 2))
		if out[0][0] != 0 || out[1][0] != 0 {
			t.Errorf("first element %g: anchors %g (float32) and %g (float64), want 0", first, out[0][0], out[1][0])
		}
	}
	out := run(t, func(in []*Node) []*Node { return []*Node{zeroAfter(in[0], dtypes.Float32)} },
		tensors.FromScalar(math.Inf(1)))
	if out[0][0] != 0 {
		t.Errorf("scalar +Inf: anchor %g, want 0", out[0][0])
	}
}

func TestDale(t *testing.T) {
	// Kernel [in=5, out=3]: signs per input unit (row).
	w := randData(15, 5, 1)
	sign := []float64{1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1, -1, 1, 1, 1}
	out := run(t, func(in []*Node) []*Node {
		return []*Node{daleProject(in[0], in[1]), daleInit(in[0], in[1])}
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
			_, s := daleSigns(RNGStateFromSeedForGraph(in[0].Graph(), 3), shapes.Make(dtypes.Float64, tc.dims...), tc.inputAxis)
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
			return []*Node{synapticScalingTerm(in[0], in[1], absolute(in[1]), in[2], nil, []int{1}, 0.01, target)}
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
		return []*Node{synapticScalingTerm(in[0], in[1], absolute(in[1]), in[2], nil, []int{2}, 0.1, -1)}
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
		out := run(t, func(in []*Node) []*Node { return []*Node{splitGroups(in[0], tc.axis, tc.gamma)} }, tensor(y, tc.dims...))
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
		l1 := l1Sum(in[0], in[1])
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

// TestL1Gradient checks the L1 stage's gradient λ·sign(W) against float64 signs, zeros (sign 0) included,
// with and without an anchor.
func TestL1Gradient(t *testing.T) {
	w := append(randData(10, 13, 1), 0, -0.0, 1e-30, -1e-30)
	const lambda = 0.05
	out := run(t, func(in []*Node) []*Node {
		return []*Node{l1Gradient(in[0], nil, lambda), l1Gradient(in[0], ScalarZero(in[0].Graph(), in[0].DType()), lambda)}
	}, tensor(w, len(w)))
	want := make([]float64, len(w))
	for i, v := range w {
		if v != 0 {
			want[i] = lambda * math.Copysign(1, v)
		}
	}
	assertClose(t, "λ·sign(W)", out[0], want, 0)
	assertClose(t, "λ·sign(W), anchored", out[1], want, 0)
}

// TestErfc checks the complementary error function used by rejuvenation against math.Erfc, in float32 as
// the training step computes it, over [0, 12], where erfc is a normal float32 (0 or tiny where it
// underflows). The bound is float32 arithmetic's: 1.2e-7 from the approximation and a few float32 ulps
// from the operations, plus x²·2⁻²³ from rounding x² inside exp(−x²) — 2e-6 at x = 4, where erfc = 1.5e-8
// and rejuvenation's probabilities end (in float32, 1 − erf(x) has relative error 4 there).
func TestErfc(t *testing.T) {
	const n = 24_001
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(12 * float64(i) / (n - 1))
	}
	exec, err := NewExec(testenv.Backend(), erfc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec1(x)
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](out)
	worst := 0.0
	for i, xi := range x {
		want := math.Erfc(float64(xi))
		if want < 1e-37 { // below float32's normal range
			if got[i] > 1e-36 {
				t.Fatalf("erfc(%g) = %g, want %g", xi, got[i], want)
			}
			continue
		}
		rel := math.Abs(float64(got[i])-want) / want
		if bound := 5e-7 + float64(xi)*float64(xi)*math.Pow(2, -23); rel > bound {
			t.Fatalf("erfc(%g) = %g, want %g: relative error %g > %g", xi, got[i], want, rel, bound)
		}
		worst = max(worst, rel)
	}
	if worst > 0 {
		t.Logf("largest relative error %g", worst)
	}
}

// TestNormalDraw checks the Box–Muller draw of both halves of each pair against N(0, σ²), for σ = 1 and
// the volume factors' 0.2: moments, the tail fraction, and the independence of the two numbers of a pair
// (their correlation).
func TestNormalDraw(t *testing.T) {
	const n = 200_001 // odd: the last pair is cut
	for _, sigma := range []float64{1, 0.2} {
		out := run(t, func(in []*Node) []*Node {
			r := &rngStream{state: RNGStateFromSeedForGraph(in[0].Graph(), 11)}
			return []*Node{r.normal(shapes.Make(dtypes.Float64, n), sigma)}
		}, tensor([]float64{0}, 1))
		z := out[0]
		if len(z) != n {
			t.Fatalf("%d numbers, want %d", len(z), n)
		}
		mean, std, _, _ := moments(z)
		if math.Abs(mean) > 5*sigma/math.Sqrt(n) || math.Abs(std-sigma) > 5*sigma/math.Sqrt(2*n) {
			t.Fatalf("σ = %g: mean %g std %g, want 0 and σ", sigma, mean, std)
		}
		tail := 0.0
		for _, v := range z {
			if math.Abs(v) > 2*sigma {
				tail++
			}
		}
		p := math.Erfc(2 / math.Sqrt2)
		if math.Abs(tail/n-p) > 5*math.Sqrt(p*(1-p)/n) {
			t.Fatalf("σ = %g: P(|z| > 2σ) = %g, want %g", sigma, tail/n, p)
		}
		half := (n + 1) / 2
		corr := 0.0
		for i := range n - half {
			corr += z[i] * z[half+i]
		}
		corr /= float64(n-half) * sigma * sigma
		if math.Abs(corr) > 5/math.Sqrt(float64(n-half)) {
			t.Fatalf("σ = %g: correlation of the pair's numbers %g, want 0", sigma, corr)
		}
	}
}

// TestUniformPair checks the two draws of uniformPair against U[0, 1) and against each other: moments,
// the fraction below 0.1, and the correlation of the two draws and of consecutive numbers of each (the
// second comes from a stream split off the first).
func TestUniformPair(t *testing.T) {
	const n = 100_000
	out := run(t, func(in []*Node) []*Node {
		r := &rngStream{state: RNGStateFromSeedForGraph(in[0].Graph(), 5)}
		u1, u2 := r.uniformPair(shapes.Make(dtypes.Float32, n))
		return []*Node{u1, u2}
	}, tensor([]float64{0}, 1))
	corr := func(a, b []float64) float64 { // of numbers with mean 1/2 and variance 1/12
		c := 0.0
		for i := range a {
			c += (a[i] - 0.5) * (b[i] - 0.5)
		}
		return c / float64(len(a)) * 12
	}
	bound := 5 / math.Sqrt(n)
	for k, u := range out {
		mean, std, lo, hi := moments(u)
		if lo < 0 || hi >= 1 || math.Abs(mean-0.5) > 5*math.Sqrt(1.0/12/n) || math.Abs(std-math.Sqrt(1.0/12)) > 0.01*std {
			t.Fatalf("draw %d: range [%g, %g], mean %g, std %g; want [0, 1), 1/2, %g", k+1, lo, hi, mean, std,
				math.Sqrt(1.0/12))
		}
		below := 0.0
		for _, v := range u {
			if v < 0.1 {
				below++
			}
		}
		if math.Abs(below/n-0.1) > 5*math.Sqrt(0.1*0.9/n) {
			t.Fatalf("draw %d: P(u < 0.1) = %g, want 0.1", k+1, below/n)
		}
		if c := corr(u[:n-1], u[1:]); math.Abs(c) > bound {
			t.Fatalf("draw %d: correlation of consecutive numbers %g, want 0", k+1, c)
		}
	}
	if c := corr(out[0], out[1]); math.Abs(c) > bound {
		t.Fatalf("correlation of the two draws %g, want 0", c)
	}
}

// TestTurnCosSin checks the polynomial cos and sin of 2π·u against math.Cos and math.Sin over [0, 1), in
// float32: absolute error within a few float32 ulps of 1.
func TestTurnCosSin(t *testing.T) {
	const n = 100_000
	u := make([]float32, n)
	for i := range u {
		u[i] = float32(i) / n
	}
	exec, err := NewExec(testenv.Backend(), func(u *Node) []*Node { c, s := turnCosSin(u); return []*Node{c, s} })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(u)
	if err != nil {
		t.Fatal(err)
	}
	cos, sin := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	worst := 0.0
	for i, ui := range u {
		theta := 2 * math.Pi * float64(ui)
		worst = max(worst, math.Abs(float64(cos[i])-math.Cos(theta)), math.Abs(float64(sin[i])-math.Sin(theta)))
	}
	if worst > 6e-7 {
		t.Fatalf("largest absolute error %g, want ≤ 6e-7 (a few float32 ulps of 1)", worst)
	}
	t.Logf("largest absolute error %.2g", worst)
}
