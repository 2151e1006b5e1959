package experiments

import (
	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/bio-transformations/go-bio/internal/synth"
	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// synthetic returns a small learnable data set (see synth.Digits).
func synthetic(name string, n int, seed uint64) *idx.Dataset { return synth.Digits(name, n, seed) }

// modelKernels builds fn on a [2, 784] input (variables are created when the graph is built; nothing runs)
// and returns the dimensions of its kernels ("weights" variables), in creation order.
func modelKernels(name string, fn train.ModelFn) [][]int {
	ctx := context.New()
	g := graph.NewGraph(testenv.Backend(), name)
	fn(ctx, nil, []*graph.Node{graph.Parameter(g, "x", shapes.Make(dtypes.Float32, 2, 784))})
	var kernels [][]int
	for v := range ctx.IterVariables() {
		if v.Name() == "weights" {
			kernels = append(kernels, v.Shape().Dimensions)
		}
	}
	return kernels
}
