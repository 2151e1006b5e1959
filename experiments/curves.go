package experiments

import "github.com/bio-transformations/go-bio/experiments/stats"

// EvalPoint is one evaluation of a run on the validation set.
type EvalPoint struct {
	// Step is the number of training steps done (global step).
	Step int `json:"step"`
	// Epoch is Step expressed in epochs (fractional between epoch boundaries).
	Epoch float64 `json:"epoch"`
	// ValAccuracy and ValLoss are the validation accuracy (fraction in [0, 1]) and mean cross-entropy.
	ValAccuracy float64 `json:"val_accuracy"`
	ValLoss     float64 `json:"val_loss"`
	// TrainLoss is the moving average of the training loss at that step.
	TrainLoss float64 `json:"train_loss"`
	// TrainAccuracy is the moving average (α = 0.01) of the training batches' accuracy at that step; nil in
	// runs recorded before it was added.
	TrainAccuracy *float64 `json:"train_accuracy,omitempty"`
	// Seconds is the wall time since the start of training (excluding evaluations).
	Seconds float64 `json:"seconds"`
}

// StepsToAccuracy returns the step of the first evaluation whose validation accuracy reaches threshold, and
// false when no evaluation does.
func StepsToAccuracy(curve []EvalPoint, threshold float64) (int, bool) {
	for _, p := range curve {
		if p.ValAccuracy >= threshold {
			return p.Step, true
		}
	}
	return 0, false
}

// CurveAUC returns the area under the learning curve normalised by its length: the mean validation accuracy
// over the evaluations (the step-0 evaluation included if recorded). With equally spaced evaluations it is
// the trapezoid-free Riemann mean; higher means faster learning. NaN for an empty curve.
func CurveAUC(curve []EvalPoint) float64 {
	acc := make([]float64, len(curve))
	for i, p := range curve {
		acc[i] = p.ValAccuracy
	}
	return stats.Mean(acc)
}
