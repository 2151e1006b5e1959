package experiments

import (
	"fmt"
	"math"
	"strings"

	"github.com/bio-transformations/go-bio/experiments/stats"
)

// The paper's measures of learning, computed from the recorded learning curves: per run the final training
// and validation loss and accuracy, the generalisation gap, the area under the learning curve; per variant
// their mean ± std over splits (seeds) and Welch's t-test against the baseline; and the same per epoch.
//
// The training loss and accuracy of a curve point are the trainer's exponential moving averages (α = 0.01,
// i.e. about the last 100 training batches, under the weights of those batches), not a separate pass over
// the training set: they cost nothing, and at the end of an epoch they lag the weights by a fraction of an
// epoch, which makes the gap slightly smaller early in training, when the loss still falls fast.

// Measure names, in the order of the measures table.
const (
	MeasureValAccuracy   = "val_accuracy"
	MeasureValLoss       = "val_loss"
	MeasureTrainAccuracy = "train_accuracy"
	MeasureTrainLoss     = "train_loss"
	// MeasureLossGap is the generalisation gap in loss: validation loss − training loss.
	MeasureLossGap = "loss_gap"
	// MeasureAccuracyGap is the generalisation gap in accuracy: training accuracy − validation accuracy.
	MeasureAccuracyGap = "accuracy_gap"
	// MeasureAUC is CurveAUC: the mean validation accuracy over the evaluations.
	MeasureAUC = "auc"
)

// MeasureNames lists the measures of PointMeasures and RunMeasures in table order.
var MeasureNames = []string{MeasureValAccuracy, MeasureValLoss, MeasureTrainAccuracy, MeasureTrainLoss,
	MeasureLossGap, MeasureAccuracyGap, MeasureAUC}

// PointMeasures returns the measures of one evaluation (all but MeasureAUC); the training accuracy and the
// accuracy gap are NaN when the point has no training accuracy (runs recorded before it was added).
func PointMeasures(p EvalPoint) map[string]float64 {
	trainAcc := math.NaN()
	if p.TrainAccuracy != nil {
		trainAcc = *p.TrainAccuracy
	}
	return map[string]float64{
		MeasureValAccuracy: p.ValAccuracy, MeasureValLoss: p.ValLoss,
		MeasureTrainAccuracy: trainAcc, MeasureTrainLoss: p.TrainLoss,
		MeasureLossGap: p.ValLoss - p.TrainLoss, MeasureAccuracyGap: trainAcc - p.ValAccuracy,
	}
}

// RunMeasures returns the measures of a run at its last evaluation, with the AUC of its whole curve; nil for
// a failed run or an empty curve.
func RunMeasures(run *RunResult) map[string]float64 {
	if run == nil || run.Error != "" || len(run.Curve) == 0 {
		return nil
	}
	m := PointMeasures(run.Curve[len(run.Curve)-1])
	m[MeasureAUC] = CurveAUC(run.Curve)
	return m
}

// MeasureStat is one measure of one variant over its runs.
type MeasureStat struct {
	// N is the number of runs with a value (NaN values, e.g. an unrecorded training accuracy, are left out).
	N    int   `json:"n"`
	Mean Float `json:"mean"`
	Std  Float `json:"std"`
	// P and CohenD compare the values with the baseline's (Welch's t-test, two-sided; NaN for the baseline
	// itself and when either side has fewer than two values).
	P      Float `json:"p"`
	CohenD Float `json:"cohen_d"`
}

// measureStat summarises values against the baseline's values (nil base: no test).
func measureStat(values, base []float64) MeasureStat {
	values, base = finite(values), finite(base)
	s := MeasureStat{N: len(values), Mean: Float(stats.Mean(values)), Std: Float(stats.Std(values)),
		P: Float(math.NaN()), CohenD: Float(math.NaN())}
	if base != nil {
		s.P, s.CohenD = Float(stats.WelchTTest(values, base).P), Float(stats.CohensD(values, base))
	}
	return s
}

// finite returns the values that are neither NaN nor infinite (nil stays nil).
func finite(x []float64) []float64 {
	if x == nil {
		return nil
	}
	out := []float64{}
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

// successfulRuns returns the successful runs of each variant.
func successfulRuns(r *CompareResult) map[string][]*RunResult {
	out := map[string][]*RunResult{}
	for _, run := range r.Runs {
		if run != nil && run.Error == "" && len(run.Curve) > 0 {
			out[run.Config.Variant] = append(out[run.Config.Variant], run)
		}
	}
	return out
}

// VariantMeasures returns, for every variant of r, each measure of RunMeasures over its runs, tested
// against the baseline's runs.
func VariantMeasures(r *CompareResult) map[string]map[string]MeasureStat {
	runs := successfulRuns(r)
	values := func(variant, measure string) []float64 {
		var out []float64
		for _, run := range runs[variant] {
			out = append(out, RunMeasures(run)[measure])
		}
		return out
	}
	out := map[string]map[string]MeasureStat{}
	for _, v := range r.Variants {
		m := map[string]MeasureStat{}
		for _, name := range MeasureNames {
			var base []float64
			if v.Name != BaselineName {
				base = values(BaselineName, name)
			}
			m[name] = measureStat(values(v.Name, name), base)
		}
		out[v.Name] = m
	}
	return out
}

// StepsToMeasures returns, for every variant of r, the steps to each accuracy of Thresholds over the runs
// that reached it (MeasureStat.N of them), tested against the baseline's runs that reached it.
func StepsToMeasures(r *CompareResult) map[string][]MeasureStat {
	runs := successfulRuns(r)
	reached := func(variant string, th float64) []float64 {
		var out []float64
		for _, run := range runs[variant] {
			if step, ok := StepsToAccuracy(run.Curve, th); ok {
				out = append(out, float64(step))
			}
		}
		return out
	}
	out := map[string][]MeasureStat{}
	for _, v := range r.Variants {
		for _, th := range Thresholds {
			var base []float64
			if v.Name != BaselineName {
				base = reached(BaselineName, th)
			}
			out[v.Name] = append(out[v.Name], measureStat(reached(v.Name, th), base))
		}
	}
	return out
}

// EpochMeasures is one variant's measures at one epoch boundary, over its runs.
type EpochMeasures struct {
	Variant string `json:"variant"`
	Epoch   int    `json:"epoch"`
	// Measures holds every name of MeasureNames but MeasureAUC, tested against the baseline at the same epoch.
	Measures map[string]MeasureStat `json:"measures"`
}

// PerEpochMeasures returns the measures of every variant at every whole epoch that all its runs evaluated,
// variant by variant in the order of r.Variants.
func PerEpochMeasures(r *CompareResult) []EpochMeasures {
	runs := successfulRuns(r)
	atEpoch := func(variant string, epoch int) [][]float64 {
		var rows [][]float64
		for _, run := range runs[variant] {
			for _, p := range run.Curve {
				if p.Epoch == float64(epoch) {
					pm := PointMeasures(p)
					row := make([]float64, len(MeasureNames)-1)
					for i, name := range MeasureNames[:len(MeasureNames)-1] {
						row[i] = pm[name]
					}
					rows = append(rows, row)
					break
				}
			}
		}
		return rows
	}
	var out []EpochMeasures
	for _, v := range r.Variants {
		for epoch := 1; epoch <= r.Config.Epochs; epoch++ {
			rows := atEpoch(v.Name, epoch)
			if len(rows) == 0 || len(rows) != len(runs[v.Name]) {
				continue
			}
			var base [][]float64
			if v.Name != BaselineName {
				base = atEpoch(BaselineName, epoch)
			}
			em := EpochMeasures{Variant: v.Name, Epoch: epoch, Measures: map[string]MeasureStat{}}
			for i, name := range MeasureNames[:len(MeasureNames)-1] {
				em.Measures[name] = measureStat(column(rows, i), column(base, i))
			}
			out = append(out, em)
		}
	}
	return out
}

// column returns the i-th value of every row (nil for no rows).
func column(rows [][]float64, i int) []float64 {
	if rows == nil {
		return nil
	}
	out := make([]float64, len(rows))
	for j, row := range rows {
		out[j] = row[i]
	}
	return out
}

// measureCell formats a statistic as "mean ± std" (scaled), with the Welch p-value when there is one, and
// "–" without values.
func measureCell(s MeasureStat, scale float64, format string) string {
	if s.N == 0 {
		return "–"
	}
	cell := dash(s.Mean*Float(scale), format) + " ± " + dash(s.Std*Float(scale), format)
	if !math.IsNaN(float64(s.P)) {
		cell += " (p " + dash(s.P, "%.2g") + ")"
	}
	return cell
}

// measureColumns are the measures of the Markdown tables: name, header, scale and format.
var measureColumns = []struct {
	name, header string
	scale        float64
	format       string
}{
	{MeasureValAccuracy, "val acc %", 100, "%.2f"},
	{MeasureValLoss, "val loss", 1, "%.4f"},
	{MeasureTrainAccuracy, "train acc %", 100, "%.2f"},
	{MeasureTrainLoss, "train loss", 1, "%.4f"},
	{MeasureLossGap, "gap: val − train loss", 1, "%.4f"},
	{MeasureAccuracyGap, "gap: train − val acc (pp)", 100, "%.2f"},
	{MeasureAUC, "AUC %", 100, "%.2f"},
}

// MarkdownMeasures renders VariantMeasures (the final epoch) and PerEpochMeasures as two Markdown tables.
func MarkdownMeasures(r *CompareResult) string {
	var b strings.Builder
	header := func(first string, withAUC bool) {
		b.WriteString("| " + first + " |")
		n := 0
		for _, c := range measureColumns {
			if c.name != MeasureAUC || withAUC {
				b.WriteString(" " + c.header + " |")
				n++
			}
		}
		b.WriteString("\n|" + strings.Repeat("---|", n+strings.Count(first, "|")+1) + "\n")
	}
	b.WriteString("Final epoch, mean ± std over splits (p: Welch's t-test against the baseline):\n\n")
	header("variant", true)
	vm := VariantMeasures(r)
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "| %s |", v.Name)
		for _, c := range measureColumns {
			fmt.Fprintf(&b, " %s |", measureCell(vm[v.Name][c.name], c.scale, c.format))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nSteps to each validation accuracy, mean ± std over the splits that reached it (k/n: how many did; p: " +
		"Welch's t-test against the baseline's splits that reached it):\n\n| variant |")
	for _, th := range Thresholds {
		fmt.Fprintf(&b, " %g %% |", th*100)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(Thresholds)) + "\n")
	steps := StepsToMeasures(r)
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "| %s |", v.Name)
		for _, st := range steps[v.Name] {
			fmt.Fprintf(&b, " %s (%d/%d) |", measureCell(st, 1, "%.0f"), st.N, len(successfulRuns(r)[v.Name]))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nPer epoch, mean ± std over splits (p against the baseline at the same epoch):\n\n")
	header("variant | epoch", false)
	for _, em := range PerEpochMeasures(r) {
		fmt.Fprintf(&b, "| %s | %d |", em.Variant, em.Epoch)
		for _, c := range measureColumns {
			if c.name != MeasureAUC {
				fmt.Fprintf(&b, " %s |", measureCell(em.Measures[c.name], c.scale, c.format))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
