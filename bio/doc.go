// Package bio brings synaptic diversity — the biologically inspired training mechanisms of Hofmann,
// Becker, Tetzlaff and Mäder, "Concept transfer of synaptic diversity from biological to artificial neural
// networks" (Nature Communications 16, 2025) — to GoMLX models. It is the Go counterpart of the Python
// package bio_transformations (BioConverter, BioModule, BioConfig), with the same parameter names and
// defaults.
//
// # Use
//
// Change two lines of an existing GoMLX training program:
//
//	conv, err := bio.NewConverter(bio.DefaultConfig())   // or bio.FromDict / ConfigFromJSON / ConverterFromContext
//	model := conv.Convert(myModelFn)                      // an existing train.ModelFn, unchanged
//	opt := conv.Optimizer(optimizers.StochasticGradientDescent().Done())
//	trainer := train.NewTrainer(backend, ctx, model, loss, opt, conv.Metrics(), evalMetrics)
//
// The converter finds the synapses itself: every kernel named "weights" in a scope ending in "/dense" or
// "/conv", which is how GoMLX's layers.Dense and layers.Convolution (and this project's biolayers) name
// them. Dense kernels are [in, out...] (input units on axis 0, output units on the rest), convolution
// kernels [k..., in, out] (input units on axis rank−2, output units on the last axis).
//
// # Mechanisms
//
//   - Fuzzy learning rates: one fixed factor s per weight, drawn once from the configured distribution;
//     the gradient (or, with factor_mode "update", the optimizer's update) is multiplied by s.
//   - Crystallize: s ← δ·s where |G|/|W| < θ or |G| > mean|W|.
//   - Volume-dependent learning rate: fresh factors |N(μ, σμ)| with μ = base_lr·exp(−stability·|W|/(|W|+1)).
//   - RejuvenateWeights: weights below |N(0, max|W|/d)| are replaced by U(−max|W|, max|W|), every
//     rejuvenation_period steps, and the optimizer's state of replaced entries is cleared.
//   - Weight splitting: groups of Γ output units share their summed output (layers of package biolayers).
//   - Dale's principle: one sign per input unit, at initialisation and after every update.
//   - Synaptic scaling: G ← G − γ·(F_T − a_j)·W·|W| from the running activity a of each output unit.
//   - L1 regularisation: λ·Σ|W| added to the training loss (its gradient λ·sign(W) added by the step).
//
// All per-step work runs inside the training graph, in one execution per step, with the library's own RNG
// state (one per layer, seeded by Config.Seed and the layer scope); the per-layer state (factors, Dale
// signs, activities, telemetry) lives in non-trainable context variables under "/bio", saved and restored
// by GoMLX checkpoints. Converter.CreateState creates it before the first step.
//
// # Where things are
//
// One file per mechanism holds its formula, math, per-step stage, state and model-level function:
// fuzzy.go, crystallize.go, volume.go, scalegrad.go, rejuvenate.go, dale.go, l1reg.go, splitting.go.
// step.go is the protocol between the model wrapper (Convert), the layer hooks (LayerWeights,
// LayerOutput), the optimizer wrapper (Optimizer, which runs the stages before the update) and the function
// Convert registers with train.AddPerStepUpdateGraphFn (the stages after it); modellevel.go runs the same
// stages for custom training steps.
//
// # Under adaptive optimizers
//
// Adam, RMSProp and Adamax normalise every gradient entry by its own running magnitude, so a constant
// per-weight factor on the gradient cancels out (measured here: 1.6e-6 maximal weight difference after 50
// Adam steps, against 4.7e-2 under SGD). factor_mode "update" multiplies the optimizer's update instead,
// a true per-weight learning rate under any optimizer.
//
// # Backends and distributed execution
//
// The package builds only graph operations and context variables, so it runs on any GoMLX backend. Random
// draws use the backend's bit generator (PCG on the Go backend, Philox on XLA), so a seed gives different,
// equally distributed draws on different backends. Under distributed.AutoSharding with replicated
// variables and a batch-sharded input (XLA, the devices of one process), a step equals the one-device step
// on the global batch: XLA inserts the reductions, and the replicated per-layer RNG states draw the same
// numbers on every device. distributed.SPMD is not supported: no collectives would be inserted, and the
// replicas would drift. Training across machines is not available in GoMLX v0.26 (go-xla v0.1.4 lacks the
// key-value-store callbacks multi-process PJRT needs). The Go backend answers both strategies with "not
// implemented"; none of this has run on XLA here (see the README).
package bio
