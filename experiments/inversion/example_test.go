package inversion_test

import (
	"fmt"

	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/bio-transformations/go-bio/experiments/inversion"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// ExampleAttack recovers a 4×4 image from the gradient it produces in a small network.
func ExampleAttack() {
	backend, err := simplego.New(inversion.BackendConfig)
	if err != nil {
		panic(err)
	}
	model := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		h := activations.Relu(biolayers.Dense(ctx.In("fc1"), inputs[0], true, 8))
		return []*Node{biolayers.Dense(ctx.In("fc2"), h, true, 3)}
	}
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(1))
	secret := make([]float32, 16)
	for i := range secret {
		secret[i] = float32(i%4) / 3 // a horizontal gradient
	}
	x := tensors.FromFlatDataAndDimensions(secret, 1, 16)
	labels := tensors.FromFlatDataAndDimensions([]int32{2}, 1, 1)
	// Create the victim's variables with one forward pass.
	context.MustExecOnce(backend, ctx, func(ctx *context.Context, x *Node) *Node { return model(ctx, nil, []*Node{x})[0] }, x)

	cfg := inversion.DefaultConfig()
	cfg.ImageShape, cfg.Iterations = [3]int{4, 4, 1}, 300
	attack, err := inversion.NewAttack(inversion.Victim{Backend: backend, Context: ctx, Model: model}, cfg)
	if err != nil {
		panic(err)
	}
	observed, err := attack.Observe(x, labels) // what the victim shares
	if err != nil {
		panic(err)
	}
	res, err := attack.Reconstruct(labels, observed)
	if err != nil {
		panic(err)
	}
	_, mse, _ := inversion.Match(secret, res.Images, 1)
	fmt.Printf("recovered (PSNR ≥ 20 dB): %v\n", inversion.PSNR(mse[0], 1) >= 20)
	// Output: recovered (PSNR ≥ 20 dB): true
}
