// Package synth generates small learnable MNIST-format data sets for tests.
package synth

import (
	"math/rand/v2"

	"github.com/bio-transformations/go-bio/datasets/idx"
)

// Digits returns n images of 4×4 pixels in 10 classes, where class c lights pixel c (plus noise), so that
// a linear model reaches high accuracy quickly. The same seed gives the same data.
func Digits(name string, n int, seed uint64) *idx.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := &idx.Dataset{Name: name, N: n, Rows: 4, Cols: 4, Images: make([]float32, n*16), Labels: make([]int32, n)}
	for i := range n {
		c := int32(rng.IntN(10))
		d.Labels[i] = c
		img := d.Image(i)
		for j := range img {
			img[j] = 0.2 * rng.Float32()
		}
		img[c] = 0.8 + 0.2*rng.Float32()
	}
	return d
}
