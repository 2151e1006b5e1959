package inversion

import (
	"fmt"
	"math"
)

// MaxExactMatch is the largest batch whose reconstructions are matched to the originals by trying every
// assignment; larger batches are matched greedily (closest pair first).
const MaxExactMatch = 8

// Match pairs each original image with one reconstruction so that the total mean squared error is lowest
// (the attack recovers a batch as an unordered set). Both hold batch images of features values each. It
// returns perm (original i is matched with reconstruction perm[i]) and the matched per-image MSEs.
func Match(original, reconstructed []float32, batch int) (perm []int, mse []float64, err error) {
	if batch <= 0 || len(original) != len(reconstructed) || len(original)%batch != 0 {
		return nil, nil, fmt.Errorf("inversion: cannot match %d original and %d reconstructed values as %d images",
			len(original), len(reconstructed), batch)
	}
	f := len(original) / batch
	cost := make([][]float64, batch)
	for i := range batch {
		cost[i] = make([]float64, batch)
		for j := range batch {
			cost[i][j] = MSE(original[i*f:(i+1)*f], reconstructed[j*f:(j+1)*f])
		}
	}
	if batch <= MaxExactMatch {
		perm = bestAssignment(cost)
	} else {
		perm = greedyAssignment(cost)
	}
	mse = make([]float64, batch)
	for i, j := range perm {
		mse[i] = cost[i][j]
	}
	return perm, mse, nil
}

// bestAssignment tries every permutation (Heap's algorithm) and returns the cheapest.
func bestAssignment(cost [][]float64) []int {
	n := len(cost)
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	total := func() float64 {
		s := 0.0
		for i, j := range p {
			s += cost[i][j]
		}
		return s
	}
	best, bestCost := append([]int(nil), p...), total()
	c := make([]int, n)
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			if t := total(); t < bestCost {
				bestCost = t
				copy(best, p)
			}
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
	return best
}

// greedyAssignment repeatedly pairs the closest remaining original and reconstruction.
func greedyAssignment(cost [][]float64) []int {
	n := len(cost)
	perm := make([]int, n)
	usedI, usedJ := make([]bool, n), make([]bool, n)
	for range n {
		bi, bj, bc := -1, -1, math.Inf(1)
		for i := range n {
			for j := range n {
				if !usedI[i] && !usedJ[j] && cost[i][j] < bc {
					bi, bj, bc = i, j, cost[i][j]
				}
			}
		}
		if bi < 0 { // only NaN costs remain: pair in order
			for i := range n {
				if !usedI[i] {
					for j := range n {
						if !usedJ[j] {
							bi, bj = i, j
							break
						}
					}
					break
				}
			}
		}
		perm[bi], usedI[bi], usedJ[bj] = bj, true, true
	}
	return perm
}

// MSE is the mean squared difference of two equally long vectors.
func MSE(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(len(a))
}

// PSNR is the peak signal-to-noise ratio in dB of a mean squared error for data of the given range
// (max − min): 10·log10(range²/mse); +Inf for a perfect reconstruction.
func PSNR(mse, dataRange float64) float64 {
	return 10 * math.Log10(dataRange*dataRange/mse)
}
