package experiments

import (
	"math/rand/v2"

	"github.com/bio-transformations/go-bio/datasets/idx"
)

// synthetic returns a small learnable data set: n images of 4x4 pixels in 10 classes, where class c lights
// pixel c (plus noise), so that a linear model can reach high accuracy quickly.
func synthetic(name string, n int, seed uint64) *idx.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := &idx.Dataset{Name: name, N: n, Rows: 4, Cols: 4, Images: make([]float32, n*16), Labels: make([]int32, n)}
	for i := 0; i < n; i++ {
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
