package experiments

import (
	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/internal/synth"
)

// synthetic returns a small learnable data set (see synth.Digits).
func synthetic(name string, n int, seed uint64) *idx.Dataset { return synth.Digits(name, n, seed) }
