package experiments

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bio-transformations/go-bio/experiments/stats"
)

// Thresholds are the validation accuracies whose first crossing measures learning speed.
var Thresholds = []float64{0.80, 0.85, 0.90, 0.95, 0.97}

// Float is a float64 that marshals NaN and ±Inf as JSON null (encoding/json rejects them).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler (null becomes NaN).
func (f *Float) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// ThresholdSteps is the learning speed of a variant for one accuracy threshold.
type ThresholdSteps struct {
	Threshold float64 `json:"threshold"`
	// MeanSteps is the mean, over the seeds that reached the threshold, of the first step reaching it (NaN
	// when none did).
	MeanSteps Float `json:"mean_steps"`
	// Reached is how many seeds reached the threshold.
	Reached int `json:"reached"`
}

// Summary aggregates the runs of one variant.
type Summary struct {
	Variant string `json:"variant"`
	Group   string `json:"group"`
	// Runs is the number of successful runs, Failed the number of failed ones.
	Runs   int `json:"runs"`
	Failed int `json:"failed"`
	// FinalAccuracies are the final validation accuracies of the successful runs, by seed.
	FinalAccuracies []float64 `json:"final_accuracies"`
	MeanAccuracy    Float     `json:"mean_accuracy"`
	StdAccuracy     Float     `json:"std_accuracy"`
	// StepsTo has one entry per Thresholds value.
	StepsTo []ThresholdSteps `json:"steps_to"`
	// AUC is the mean over seeds of CurveAUC (mean validation accuracy over the evaluations).
	AUC Float `json:"auc"`
	// Welch's t-test and Cohen's d of the final accuracies against the baseline (NaN for the baseline itself).
	T      Float `json:"t"`
	DF     Float `json:"df"`
	P      Float `json:"p"`
	CohenD Float `json:"cohen_d"`
	// MedianStepMs is the mean over seeds of the median training step duration.
	MedianStepMs Float `json:"median_step_ms"`
}

// Summarize returns one Summary per variant, in the order of r.Variants; statistics compare every variant
// with the variant named BaselineName.
func Summarize(r *CompareResult) []Summary {
	byVariant := map[string][]*RunResult{}
	for _, run := range r.Runs {
		if run != nil {
			byVariant[run.Config.Variant] = append(byVariant[run.Config.Variant], run)
		}
	}
	finals := func(name string) []float64 {
		var out []float64
		for _, run := range byVariant[name] {
			if run.Error == "" {
				out = append(out, run.FinalAccuracy)
			}
		}
		return out
	}
	base := finals(BaselineName)
	var out []Summary
	for _, v := range r.Variants {
		s := Summary{Variant: v.Name, Group: v.Group, FinalAccuracies: finals(v.Name)}
		var aucs, stepMs []float64
		reached := make([][]float64, len(Thresholds))
		for _, run := range byVariant[v.Name] {
			if run.Error != "" {
				s.Failed++
				continue
			}
			s.Runs++
			aucs = append(aucs, CurveAUC(run.Curve))
			stepMs = append(stepMs, run.MedianStepMs)
			for i, th := range Thresholds {
				if step, ok := StepsToAccuracy(run.Curve, th); ok {
					reached[i] = append(reached[i], float64(step))
				}
			}
		}
		s.MeanAccuracy, s.StdAccuracy = Float(stats.Mean(s.FinalAccuracies)), Float(stats.Std(s.FinalAccuracies))
		s.AUC, s.MedianStepMs = Float(stats.Mean(aucs)), Float(stats.Mean(stepMs))
		for i, th := range Thresholds {
			s.StepsTo = append(s.StepsTo, ThresholdSteps{Threshold: th, MeanSteps: Float(stats.Mean(reached[i])), Reached: len(reached[i])})
		}
		s.T, s.DF, s.P, s.CohenD = Float(math.NaN()), Float(math.NaN()), Float(math.NaN()), Float(math.NaN())
		if v.Name != BaselineName {
			tt := stats.WelchTTest(s.FinalAccuracies, base)
			s.T, s.DF, s.P = Float(tt.T), Float(tt.DF), Float(tt.P)
			s.CohenD = Float(stats.CohensD(s.FinalAccuracies, base))
		}
		out = append(out, s)
	}
	return out
}

// dash formats a value, or "–" when it is NaN.
func dash(v Float, format string) string {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return "–"
	}
	return fmt.Sprintf(format, float64(v))
}

// MarkdownTable renders the summaries as a Markdown table: variant | final accuracy mean ± std | steps to
// each threshold (mean over the seeds that reached it, "(k/n)" when not all did, "–" when none did) | AUC |
// Welch p and Cohen's d against the baseline | median ms per step.
func MarkdownTable(summaries []Summary) string {
	var b strings.Builder
	b.WriteString("| variant | final val accuracy (mean ± std) |")
	for _, th := range Thresholds {
		fmt.Fprintf(&b, " steps to %g %% |", th*100)
	}
	b.WriteString(" AUC (mean val acc) | p (Welch vs baseline) | Cohen's d | ms/step |\n|---|---|")
	for range Thresholds {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|---|\n")
	for _, s := range summaries {
		acc := "–"
		if s.Runs > 0 {
			acc = dash(s.MeanAccuracy*100, "%.2f") + " ± " + dash(s.StdAccuracy*100, "%.2f") + " %"
		}
		name := s.Variant
		if s.Failed > 0 {
			name += fmt.Sprintf(" (%d failed)", s.Failed)
		}
		fmt.Fprintf(&b, "| %s | %s |", name, acc)
		for _, st := range s.StepsTo {
			cell := dash(st.MeanSteps, "%.0f")
			if st.Reached > 0 && st.Reached < s.Runs {
				cell += fmt.Sprintf(" (%d/%d)", st.Reached, s.Runs)
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		fmt.Fprintf(&b, " %s | %s | %s | %s |\n", dash(s.AUC*100, "%.2f %%"), dash(s.P, "%.3g"), dash(s.CohenD, "%.2f"),
			dash(s.MedianStepMs, "%.1f"))
	}
	return b.String()
}

// CSVHeader is the header of results.csv.
var CSVHeader = []string{"variant", "group", "seed", "model", "width", "lr", "batch_size", "step", "epoch",
	"val_accuracy", "val_loss", "train_loss", "train_accuracy", "loss_gap", "accuracy_gap", "seconds", "error"}

// WriteCSV writes one row per run per evaluation (a failed run: one row with its error).
func WriteCSV(w io.Writer, r *CompareResult) error {
	groups := map[string]string{}
	for _, v := range r.Variants {
		groups[v.Name] = v.Group
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, run := range r.Runs {
		if run == nil {
			continue
		}
		c := run.Config
		prefix := []string{c.Variant, groups[c.Variant], strconv.FormatInt(c.Seed, 10), c.Model, strconv.Itoa(c.Width),
			f(c.LR), strconv.Itoa(c.BatchSize)}
		if run.Error != "" {
			if err := cw.Write(append(prefix, "", "", "", "", "", "", "", "", "", run.Error)); err != nil {
				return err
			}
			continue
		}
		for _, p := range run.Curve {
			m := PointMeasures(p)
			row := append(append([]string(nil), prefix...), strconv.Itoa(p.Step), f(p.Epoch), f(p.ValAccuracy), f(p.ValLoss),
				f(p.TrainLoss), optional(m[MeasureTrainAccuracy]), f(m[MeasureLossGap]), optional(m[MeasureAccuracyGap]),
				f(p.Seconds), "")
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// optional formats v for the CSV, empty when it is NaN (not recorded).
func optional(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 8, 64)
}

// Report is the content of results.json: the whole comparison (configuration and every run) and its summary.
type Report struct {
	*CompareResult
	Summaries []Summary `json:"summaries"`
	// Measures are VariantMeasures (final epoch) by variant and measure; PerEpoch is PerEpochMeasures.
	Measures map[string]map[string]MeasureStat `json:"measures"`
	PerEpoch []EpochMeasures                   `json:"per_epoch"`
	// StepsTo is StepsToMeasures: per variant, one statistic per accuracy of Thresholds.
	StepsTo map[string][]MeasureStat `json:"steps_to"`
}

// WriteJSON writes the comparison and its summaries as indented JSON.
func WriteJSON(w io.Writer, r *CompareResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{CompareResult: r, Summaries: Summarize(r), Measures: VariantMeasures(r), PerEpoch: PerEpochMeasures(r),
		StepsTo: StepsToMeasures(r)})
}

// Outputs are the files written by WriteOutputs.
type Outputs struct {
	CSV, JSON, Markdown string
	// Plots are the PNG learning-curve plots, one per variant group.
	Plots []string
}

// WriteOutputs writes results.csv, results.json, results.md and the learning-curve plots into dir (created
// if needed) and returns their paths.
func WriteOutputs(dir string, r *CompareResult) (Outputs, error) {
	var out Outputs
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("creating output folder %q: %w", dir, err)
	}
	write := func(name string, fn func(io.Writer) error) (string, error) {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return "", fmt.Errorf("creating %q: %w", p, err)
		}
		if err := fn(f); err != nil {
			_ = f.Close()
			return "", fmt.Errorf("writing %q: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("closing %q: %w", p, err)
		}
		return p, nil
	}
	var err error
	if out.CSV, err = write("results.csv", func(w io.Writer) error { return WriteCSV(w, r) }); err != nil {
		return out, err
	}
	if out.JSON, err = write("results.json", func(w io.Writer) error { return WriteJSON(w, r) }); err != nil {
		return out, err
	}
	if out.Markdown, err = write("results.md", func(w io.Writer) error {
		_, err := io.WriteString(w, MarkdownReport(r))
		return err
	}); err != nil {
		return out, err
	}
	if out.Plots, err = WritePlots(dir, r); err != nil {
		return out, err
	}
	return out, nil
}

// MarkdownReport returns a short Markdown document: the design, the table of MarkdownTable and notes.
func MarkdownReport(r *CompareResult) string {
	c := r.Config
	var b strings.Builder
	b.WriteString("# Bio-mechanism comparison\n\n")
	split := fmt.Sprintf("train+test merged, ShuffleSplit %.0f %% validation, fold = seed mod %d", valFraction(c.Split)*100, NumFolds)
	if c.Split.TestSet {
		split = "official training set, validation on the official test set"
	}
	if c.Split.TrainSize > 0 {
		split += fmt.Sprintf(", training subsample %d", c.Split.TrainSize)
	}
	if c.Split.ValSize > 0 {
		split += fmt.Sprintf(", validation subsample %d", c.Split.ValSize)
	}
	var runSeconds float64
	for _, run := range r.Runs {
		if run != nil {
			runSeconds += run.WallSeconds
		}
	}
	fmt.Fprintf(&b, "Model %s (%s); %d seed(s) from %d; %d epoch(s); plain SGD lr %g, batch %d; %s. "+
		"Bio base: ν=%g, d=%g (rejuvenation every %d step(s)). Wall time of the runs %.0f s in all (%.0f s in the "+
		"last invocation, which keeps the runs finished by earlier ones).\n\n",
		c.Model, modelSize(c), c.Seeds, c.FirstSeed, c.Epochs, c.LR, c.BatchSize, split,
		c.Base.FuzzyLearningRateFactorNu, c.Base.RejuvenationParameterDre, c.Base.RejuvenationPeriod, runSeconds, r.WallSeconds)
	b.WriteString(MarkdownTable(Summarize(r)))
	b.WriteString("\nSteps to X %: first evaluation (every epoch")
	if c.EvalEvery > 0 {
		fmt.Fprintf(&b, " and every %d steps", c.EvalEvery)
	}
	b.WriteString(") reaching X % validation accuracy. AUC: mean validation accuracy over the evaluations. " +
		"p: two-sided Welch t-test of the final accuracies against the baseline; d: Cohen's d (pooled std). " +
		"With few seeds these tests have little power.\n\n## Measures of learning\n\n")
	b.WriteString(MarkdownMeasures(r))
	b.WriteString("\nTraining loss and accuracy: the trainer's moving averages (α = 0.01, about the last 100 batches), " +
		"not a separate pass over the training set; gap: validation loss − training loss, and training − validation " +
		"accuracy in percentage points. \"–\": not recorded (runs made before the training accuracy was recorded).\n")
	return b.String()
}

// modelSize describes the size of the comparison's network: FCNet's hidden width, a ResNet's stage widths,
// or the width multiplier of the others (0: the paper's size).
func modelSize(c CompareConfig) string {
	switch {
	case c.Model == "fcnet":
		return fmt.Sprintf("width %d", cmp.Or(c.Width, DefaultFCNetWidth))
	case len(c.StageWidths) > 0:
		return fmt.Sprintf("stage widths %v", c.StageWidths)
	case c.Width == 0:
		return "the paper's size"
	}
	return fmt.Sprintf("width %d %%", c.Width)
}

func valFraction(s SplitConfig) float64 {
	if s.ValFraction == 0 {
		return DefaultValFraction
	}
	return s.ValFraction
}
