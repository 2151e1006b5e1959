// Package biolayers provides neural-network layers for GoMLX that train fast on GoMLX's pure-Go backend
// ("SimpleGo", GOMLX_BACKEND=go), and that carry the bio-transformation hooks of package bio.
//
// Why not simply GoMLX's layers: on the Go backend (GoMLX v0.26)
//   - the automatic gradient of a matrix product (Dot/DotGeneral/Einsum) materialises a [batch, in, out]
//     tensor, which makes layers.Dense ~10× slower to train than necessary;
//   - convolutions cannot be differentiated (their gradient needs the missing op "Reverse"),
//     gradients through Slice need the missing op "Pad", and max pooling needs "SelectAndScatterMax".
//
// This package therefore
//   - computes matrix products with FastMatMul, whose gradient is given explicitly as two matrix products
//     (dY·Wᵀ and Xᵀ·dY), themselves built with FastMatMul, so that higher-order gradients stay correct and fast;
//   - implements convolutions and pooling by gathering patches ("im2col") with Gather, whose gradient
//     (a scatter-add) works on the Go backend, followed by FastMatMul (convolution) or a reduction (pooling);
//     padding is done by gathering a valid element and multiplying by a constant 0/1 mask, never with
//     Pad/Slice/Concatenate, so that every gradient, of every order, uses supported ops only;
//   - provides a batch normalisation (BatchNorm) built from elementwise ops and reductions only.
//
// Variables have the same names, shapes and layouts as GoMLX's layers.Dense, layers.Convolution and
// batchnorm.New, so checkpoints are interchangeable between models built with either.
//
// Kernels are created through bio.LayerWeights and layer outputs pass through bio.LayerOutput, so that
// models built with these layers can be converted by package bio.
package biolayers
