package main

import (
	"testing"

	"github.com/bio-transformations/go-bio/internal/benchvariants"
)

// BenchmarkStep measures one SGD training step of the paper's FCNet (784-1000-10, batch 100) for every
// variant of the command (plain, each mechanism alone, the authors' and the reference's loops, everything),
// with the same trainer set-up. Compare the variants' ns/op, measured in one run:
//
//	go test -run NONE -bench Step -benchtime 20x ./cmd/biobench/
func BenchmarkStep(b *testing.B) {
	x, y := batch(100)
	for _, v := range benchvariants.All() {
		b.Run(v.ID, func(b *testing.B) {
			bench, err := newBench("", v, 1000, x, y)
			if err != nil {
				b.Fatal(err)
			}
			defer bench.setup.Close()
			if err := bench.step(); err != nil { // compiles the graph
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := bench.step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
