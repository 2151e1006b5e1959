package inversion

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveSSIM computes SSIM directly: for every valid window position it builds the 2-D Gaussian weights
// from the squared distance to the window centre, and takes the weighted mean, then the centred weighted
// (co)variances in a second pass. Channels are read with explicit strides and averaged.
func naiveSSIM(x, y []float32, h, w, c, win int, dataRange float64) float64 {
	r := win / 2
	weights := make([][]float64, win)
	norm := 0.0
	for di := range win {
		weights[di] = make([]float64, win)
		for dj := range win {
			d2 := float64((di-r)*(di-r) + (dj-r)*(dj-r))
			weights[di][dj] = math.Exp(-d2 / (2 * 1.5 * 1.5))
			norm += weights[di][dj]
		}
	}
	c1, c2 := (0.01*dataRange)*(0.01*dataRange), (0.03*dataRange)*(0.03*dataRange)
	perChannel := 0.0
	for ch := range c {
		px := func(img []float32, i, j int) float64 { return float64(img[(i*w+j)*c+ch]) }
		sum, count := 0.0, 0
		for ci := r; ci < h-r; ci++ {
			for cj := r; cj < w-r; cj++ {
				var mx, my float64
				for di := -r; di <= r; di++ {
					for dj := -r; dj <= r; dj++ {
						wt := weights[di+r][dj+r] / norm
						mx += wt * px(x, ci+di, cj+dj)
						my += wt * px(y, ci+di, cj+dj)
					}
				}
				var vx, vy, cov float64
				for di := -r; di <= r; di++ {
					for dj := -r; dj <= r; dj++ {
						wt := weights[di+r][dj+r] / norm
						a, b := px(x, ci+di, cj+dj)-mx, px(y, ci+di, cj+dj)-my
						vx += wt * a * a
						vy += wt * b * b
						cov += wt * a * b
					}
				}
				sum += (2*mx*my + c1) * (2*cov + c2) / ((mx*mx + my*my + c1) * (vx + vy + c2))
				count++
			}
		}
		perChannel += sum / float64(count)
	}
	return perChannel / float64(c)
}

func randomImage(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// noisyCopy returns x plus Gaussian noise of standard deviation sd, clipped to [0, 1].
func noisyCopy(x []float32, sd float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 9))
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(min(max(float64(v)+sd*rng.NormFloat64(), 0), 1))
	}
	return y
}

// TestSSIMAgainstDirect compares SSIM with the direct computation on random and related image pairs, for a
// non-square multi-channel image, MNIST's size and a tiny image (window 3).
func TestSSIMAgainstDirect(t *testing.T) {
	for _, tc := range []struct {
		shape [3]int
		win   int
	}{{[3]int{28, 28, 1}, 11}, {[3]int{14, 17, 2}, 11}, {[3]int{4, 4, 1}, 3}, {[3]int{10, 12, 1}, 9}, {[3]int{5, 30, 3}, 5}} {
		if got := SSIMWindowSize(tc.shape[0], tc.shape[1]); got != tc.win {
			t.Errorf("%v: window %d, want %d", tc.shape, got, tc.win)
		}
		n := tc.shape[0] * tc.shape[1] * tc.shape[2]
		x := randomImage(n, 1)
		for name, y := range map[string][]float32{"independent": randomImage(n, 2), "noisy": noisyCopy(x, 0.1, 3)} {
			for _, dataRange := range []float64{1, 2} {
				got, err := SSIM(x, y, tc.shape, dataRange)
				if err != nil {
					t.Fatal(err)
				}
				want := naiveSSIM(x, y, tc.shape[0], tc.shape[1], tc.shape[2], tc.win, dataRange)
				if math.Abs(got-want) > 1e-10 {
					t.Errorf("%v %s range %g: SSIM %.15g, direct %.15g", tc.shape, name, dataRange, got, want)
				}
			}
		}
	}
}

// TestSSIMProperties: identity, symmetry, monotonicity in the noise, and the closed form of constant images.
func TestSSIMProperties(t *testing.T) {
	shape := [3]int{28, 28, 1}
	x := randomImage(28*28, 5)
	if s, err := SSIM(x, x, shape, 1); err != nil || math.Abs(s-1) > 1e-12 {
		t.Errorf("SSIM(x, x) = %v (%v), want 1", s, err)
	}
	y := noisyCopy(x, 0.2, 6)
	xy, _ := SSIM(x, y, shape, 1)
	yx, _ := SSIM(y, x, shape, 1)
	if xy != yx {
		t.Errorf("SSIM(x, y) = %.17g but SSIM(y, x) = %.17g", xy, yx)
	}
	prev := 1.0
	for _, sd := range []float64{0.01, 0.05, 0.2, 0.5} {
		s, _ := SSIM(x, noisyCopy(x, sd, 7), shape, 1)
		t.Logf("noise sd %.2f: SSIM %.4f", sd, s)
		if !(s < prev) || s <= -1 {
			t.Errorf("noise sd %g: SSIM %g, not below %g (less noise)", sd, s, prev)
		}
		prev = s
	}
	// Constant images a and b: σ's vanish, the structure term is C2/C2 = 1 and SSIM is the luminance term
	// (2ab + C1)/(a² + b² + C1) at every position.
	for _, ab := range [][2]float32{{0.5, 0.5}, {0.2, 0.7}, {0, 1}, {0.9, 0.1}} {
		a, b := make([]float32, 28*28), make([]float32, 28*28)
		for i := range a {
			a[i], b[i] = ab[0], ab[1]
		}
		c1 := 0.01 * 0.01
		fa, fb := float64(ab[0]), float64(ab[1])
		want := (2*fa*fb + c1) / (fa*fa + fb*fb + c1)
		if got, _ := SSIM(a, b, shape, 1); math.Abs(got-want) > 1e-12 {
			t.Errorf("constant %v: SSIM %.15g, want %.15g", ab, got, want)
		}
	}
	// A constant shift of a structured image keeps σx = σy = σxy, so only the luminance term drops.
	shifted := make([]float32, len(x))
	for i, v := range x {
		shifted[i] = v*0.5 + 0.5
	}
	half := make([]float32, len(x))
	for i, v := range x {
		half[i] = v * 0.5
	}
	got, _ := SSIM(half, shifted, shape, 1)
	if want := naiveSSIM(half, shifted, 28, 28, 1, 11, 1); !(got < 1) || math.Abs(got-want) > 1e-10 {
		t.Errorf("shifted copy: SSIM %g, direct %g, want < 1", got, want)
	}
}

func TestSSIMErrors(t *testing.T) {
	x := randomImage(16, 1)
	for _, tc := range []struct {
		x, y  []float32
		shape [3]int
		rng   float64
		want  string
	}{
		{x, x[:15], [3]int{4, 4, 1}, 1, "15 values"},
		{x, x, [3]int{4, 0, 1}, 1, "positive sizes"},
		{x, x, [3]int{4, 4, 1}, 0, "data range 0"},
		{x, x, [3]int{4, 4, 1}, math.NaN(), "data range NaN"},
	} {
		if _, err := SSIM(tc.x, tc.y, tc.shape, tc.rng); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, range %g: got %v, want an error with %q", tc.shape, tc.rng, err, tc.want)
		}
	}
}

// TestExperimentSSIM: the tiny experiment records an SSIM per image, the one of the original against its
// matched reconstruction (recomputed directly from the pictured batches), and summarises them per group.
func TestExperimentSSIM(t *testing.T) {
	res := tinyResult(t)
	checked := 0
	for _, r := range res.Records {
		if len(r.SSIM) != r.BatchSize {
			t.Fatalf("record %+v: %d SSIMs", r, len(r.SSIM))
		}
		if r.Batch != 0 {
			continue
		}
		f := len(r.Reconstruction) / r.BatchSize
		for i, idx := range r.Indices {
			want := naiveSSIM(res.Originals[idx], r.Reconstruction[i*f:(i+1)*f], 4, 4, 1, 3, 1)
			if math.Abs(r.SSIM[i]-want) > 1e-10 {
				t.Errorf("%s step %d image %d: SSIM %g, direct %g", r.Variant, r.Step, idx, r.SSIM[i], want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no pictured batch")
	}
	for _, s := range Summarize(res) {
		if math.IsNaN(s.MeanSSIM) || s.MeanSSIM > 1 || s.MeanSSIM < -1 || (s.Images > 1) == math.IsNaN(s.StdSSIM) {
			t.Errorf("summary %+v", s)
		}
	}
}

// TestReportWithoutSSIM: results written before SSIM and iDLG existed still load, and the table shows "–"
// for their SSIM.
func TestReportWithoutSSIM(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, tinyResult(t)); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, r := range raw["records"].([]any) {
		delete(r.(map[string]any), "ssim")
	}
	old, _ := json.Marshal(raw)
	if strings.Contains(string(old), `"ssim"`) {
		t.Fatal("the fixture still holds SSIMs")
	}
	res, err := ReadJSON(bytes.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	table := MarkdownTable(Summarize(res))
	for _, l := range strings.Split(table, "\n")[2:] {
		if l == "" {
			continue
		}
		cells := strings.Split(l, " | ")
		if cells[7] != "–" || cells[10] != "–" { // SSIM, iDLG labels
			t.Errorf("row %q: SSIM %q, labels %q, want –", l, cells[7], cells[10])
		}
	}
	var csvOut bytes.Buffer
	if err := WriteCSV(&csvOut, res); err != nil || !strings.Contains(csvOut.String(), ",,,") {
		t.Errorf("CSV without SSIM: %v\n%s", err, csvOut.String())
	}
}
