// Package experiments runs the paper's training experiments (Hofmann et al. 2025) on GoMLX: it splits the
// data as the paper did, batches it into a train.Dataset, trains one variant (a model with or without bio
// mechanisms) while recording its learning curve, runs the comparison of mechanisms over several seeds in
// parallel, and writes the results (CSV, JSON, a Markdown table with statistics, a PNG plot).
//
// Paper design (from the authors' research code, see METHODS.md): MNIST train and test merged, ShuffleSplit
// with 10 % validation, one of 5 folds; FCNet 784-1000-10; plain SGD, lr 1e-3, batch 100, 200 epochs;
// factorial {rejuvenation} × {fuzzy learning rates} × {Γ = 0, 2} with ν = 0.09 and d = 14.
//
// Pieces:
//   - Split / ShuffleSplit: the paper's split (fold = seed mod 5) or the official test set, with optional
//     seeded subsamples for quick runs.
//   - Batches: train.Dataset over an in-memory idx.Dataset; training batches are shuffled per epoch by seed
//     and can be positioned at any step (for resuming).
//   - Run: one training run with its own backend and context (runs can execute concurrently), validation
//     after every epoch and optionally every K steps, checkpoints and resumption.
//   - DesignVariants / Compare: the 8 factorial variants ("baseline" first) plus volume-dependent lr,
//     crystallization, Dale's principle and synaptic scaling each added alone, N seeds each.
//   - Summarize / MarkdownTable / WriteOutputs: final accuracy mean ± std, steps to 90/95/97 % validation
//     accuracy, AUC of the learning curve, Welch's t-test and Cohen's d against the baseline (package
//     experiments/stats), results.csv (one row per run per evaluation), results.json, results.md and
//     learning_curves.png (one panel per variant group, mean with a min–max band over seeds).
//
// Presets: DemoCompareConfig (minutes on 2 CPU cores), DefaultCompareConfig (width 1000, 10 epochs, 5 seeds,
// lr 0.05) and PaperCompareConfig (the paper's full design). The command cmd/biotrain exposes all of this.
package experiments
