package inversion

import (
	"fmt"
	"math"
)

// The constants of SSIM as Wang et al. 2004 define it ("Image quality assessment: from error visibility to
// structural similarity"): an 11×11 Gaussian window of σ 1.5 and the stabilising constants
// C1 = (K1·L)², C2 = (K2·L)² for data range L.
const (
	SSIMWindow = 11
	SSIMSigma  = 1.5
	SSIMK1     = 0.01
	SSIMK2     = 0.03
)

// SSIMWindowSize is the side of the window SSIM uses for images of h×w pixels: SSIMWindow, or for images
// smaller than that the largest odd size that fits (a truncated, renormalised Gaussian of the same σ;
// values on such small images are not comparable with the standard SSIM).
func SSIMWindowSize(h, w int) int {
	s := min(SSIMWindow, h, w)
	if s%2 == 0 {
		s--
	}
	return max(s, 1)
}

// SSIM is the mean structural similarity of two images x and y laid out [height, width, channels]
// (channels last, shape), for pixels of the given data range (1 for pixels in [0, 1]). Per channel, the
// local means μ, variances σ² and covariance σxy are Gaussian-weighted over every window that lies inside
// the image (the "valid" positions, see SSIMWindowSize), with the weighted (biased) variances of Wang et al.,
// not the sample-corrected ones; at each position
//
//	SSIM = (2·μx·μy + C1)·(2·σxy + C2) / ((μx² + μy² + C1)·(σx² + σy² + C2)),
//
// averaged over the positions, and the channels' means are averaged. SSIM(x, x) = 1; lower is less similar
// (the minimum is −1). The window is separable, so the statistics are filtered along rows, then columns.
func SSIM(x, y []float32, shape [3]int, dataRange float64) (float64, error) {
	h, w, c := shape[0], shape[1], shape[2]
	switch {
	case h <= 0 || w <= 0 || c <= 0:
		return 0, fmt.Errorf("inversion: ssim: shape %v must be 3 positive sizes [height, width, channels]", shape)
	case len(x) != h*w*c || len(y) != h*w*c:
		return 0, fmt.Errorf("inversion: ssim: images of %d and %d values for shape %v (want %d each)", len(x), len(y), shape, h*w*c)
	case !(dataRange > 0) || math.IsInf(dataRange, 0):
		return 0, fmt.Errorf("inversion: ssim: data range %g must be a positive number", dataRange)
	}
	win := SSIMWindowSize(h, w)
	g := gaussianWindow(win, SSIMSigma)
	c1, c2 := math.Pow(SSIMK1*dataRange, 2), math.Pow(SSIMK2*dataRange, 2)
	total := 0.0
	for ch := range c {
		// The five planes whose local weighted means SSIM needs: x, y, x², y², x·y.
		planes := make([][]float64, 5)
		for p := range planes {
			planes[p] = make([]float64, h*w)
		}
		for i := range h * w {
			a, b := float64(x[i*c+ch]), float64(y[i*c+ch])
			planes[0][i], planes[1][i], planes[2][i], planes[3][i], planes[4][i] = a, b, a*a, b*b, a*b
		}
		oh, ow := h-win+1, w-win+1
		var m [5][]float64
		for p := range planes {
			m[p] = filterValid(planes[p], h, w, g)
		}
		sum := 0.0
		for i := range oh * ow {
			mx, my := m[0][i], m[1][i]
			vx, vy, cov := m[2][i]-mx*mx, m[3][i]-my*my, m[4][i]-mx*my
			sum += (2*mx*my + c1) * (2*cov + c2) / ((mx*mx + my*my + c1) * (vx + vy + c2))
		}
		total += sum / float64(oh*ow)
	}
	return total / float64(c), nil
}

// gaussianWindow returns the n weights exp(−(i − n/2)²/(2σ²)), normalised to sum 1.
func gaussianWindow(n int, sigma float64) []float64 {
	g := make([]float64, n)
	r := float64(n-1) / 2
	s := 0.0
	for i := range g {
		d := float64(i) - r
		g[i] = math.Exp(-d * d / (2 * sigma * sigma))
		s += g[i]
	}
	for i := range g {
		g[i] /= s
	}
	return g
}

// filterValid correlates the h×w plane with the separable window g⊗g at every position where the window
// lies inside the plane: first along the rows, then along the columns. It returns the
// (h−n+1)×(w−n+1) result, n = len(g).
func filterValid(plane []float64, h, w int, g []float64) []float64 {
	n := len(g)
	oh, ow := h-n+1, w-n+1
	rows := make([]float64, h*ow)
	for i := range h {
		for j := range ow {
			s := 0.0
			for k, gk := range g {
				s += gk * plane[i*w+j+k]
			}
			rows[i*ow+j] = s
		}
	}
	out := make([]float64, oh*ow)
	for i := range oh {
		for j := range ow {
			s := 0.0
			for k, gk := range g {
				s += gk * rows[(i+k)*ow+j]
			}
			out[i*ow+j] = s
		}
	}
	return out
}
