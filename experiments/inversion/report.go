package inversion

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bio-transformations/go-bio/experiments"
	"github.com/bio-transformations/go-bio/experiments/stats"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// RecoveredPSNR is the PSNR (dB) above which a reconstruction counts as recovered in the summary: at
// 20 dB (MSE 0.01) digits are clearly recognisable.
const RecoveredPSNR = 20

// Summary aggregates the attacked images of one variant at one (observation, snapshot, batch size).
type Summary struct {
	Observe   Observation `json:"observe"`
	Step      int         `json:"step"`
	BatchSize int         `json:"batch_size"`
	Variant   string      `json:"variant"`
	// Images is the number of attacked images (seeds × batches × batch size).
	Images int `json:"images"`
	// VictimAccuracy is the mean test accuracy of the victims at the snapshot.
	VictimAccuracy float64 `json:"victim_accuracy"`
	// MeanPSNR, StdPSNR over the images; MeanMSE; Recovered the fraction with PSNR ≥ RecoveredPSNR.
	MeanPSNR  float64 `json:"mean_psnr"`
	StdPSNR   float64 `json:"std_psnr"`
	MeanMSE   float64 `json:"mean_mse"`
	Recovered float64 `json:"recovered"`
	// MeanSSIM, StdSSIM over the images that have an SSIM (see SSIM; NaN when none has: results written
	// before it existed).
	MeanSSIM float64 `json:"mean_ssim"`
	StdSSIM  float64 `json:"std_ssim"`
	// LabelsCorrect is the mean fraction of labels that iDLG recovered per batch (Record.LabelsCorrect);
	// NaN when the labels were known.
	LabelsCorrect float64 `json:"labels_correct"`
	// MeanObjective is the mean best attack objective of the batches (lower: the attacker matched better).
	MeanObjective float64 `json:"mean_objective"`
	// MeanMatchingCost is the mean of the batches' Record.MatchingCost (1 − cos, the authors' metric).
	MeanMatchingCost float64 `json:"mean_matching_cost"`
	// P and CohenD compare the PSNRs with the baseline's on the same images (Welch's t-test; d < 0: the
	// variant leaks less). NaN for the baseline.
	P      float64 `json:"p"`
	CohenD float64 `json:"cohen_d"`
}

type groupKey struct {
	obs       Observation
	step, bs  int
	variant   string
	variantIx int
}

// Summarize aggregates the records per (observation, snapshot, batch size, variant), in that order, the
// variants in the experiment's order.
func Summarize(r *ExperimentResult) []Summary {
	order := map[string]int{}
	for i, v := range r.Variants {
		order[v.Name] = i
	}
	groups := map[groupKey][]*Record{}
	var keys []groupKey
	for _, rec := range r.Records {
		k := groupKey{rec.Observe, rec.Step, rec.BatchSize, rec.Variant, order[rec.Variant]}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], rec)
	}
	obsOrder := func(o Observation) int { return slices.Index(r.Config.Observations, o) }
	slices.SortFunc(keys, func(a, b groupKey) int {
		if c := obsOrder(a.obs) - obsOrder(b.obs); c != 0 {
			return c
		}
		if c := a.step - b.step; c != 0 {
			return c
		}
		if c := a.bs - b.bs; c != 0 {
			return c
		}
		return a.variantIx - b.variantIx
	})
	psnrs := func(recs []*Record) (ps, mses, objs, accs []float64) {
		for _, rec := range recs {
			ps = append(ps, rec.PSNR...)
			mses = append(mses, rec.MSE...)
			objs = append(objs, rec.BestObjective)
			accs = append(accs, rec.VictimAccuracy)
		}
		return
	}
	var out []Summary
	for _, k := range keys {
		ps, mses, objs, accs := psnrs(groups[k])
		costs, ssims, labels := batchMetrics(groups[k])
		s := Summary{Observe: k.obs, Step: k.step, BatchSize: k.bs, Variant: k.variant, Images: len(ps),
			VictimAccuracy: stats.Mean(accs), MeanPSNR: stats.Mean(ps), StdPSNR: stats.Std(ps),
			MeanSSIM: meanOrNaN(ssims), StdSSIM: math.NaN(), LabelsCorrect: meanOrNaN(labels),
			MeanMSE: stats.Mean(mses), MeanObjective: stats.Mean(objs), MeanMatchingCost: stats.Mean(costs),
			P: math.NaN(), CohenD: math.NaN()}
		if len(ssims) > 0 {
			s.StdSSIM = stats.Std(ssims)
		}
		rec := 0
		for _, p := range ps {
			if p >= RecoveredPSNR {
				rec++
			}
		}
		s.Recovered = float64(rec) / float64(len(ps))
		if k.variant != experiments.BaselineName {
			bk := groupKey{k.obs, k.step, k.bs, experiments.BaselineName, order[experiments.BaselineName]}
			if base, ok := groups[bk]; ok {
				bp, _, _, _ := psnrs(base)
				s.P = stats.WelchTTest(ps, bp).P
				s.CohenD = stats.CohensD(ps, bp)
			}
		}
		out = append(out, s)
	}
	return out
}

// batchMetrics collects the records' matching costs, their images' SSIMs (where recorded) and their
// fractions of labels iDLG recovered (where inferred).
func batchMetrics(recs []*Record) (costs, ssims, labels []float64) {
	for _, rec := range recs {
		costs = append(costs, rec.MatchingCost)
		ssims = append(ssims, rec.SSIM...)
		if rec.LabelsCorrect != nil {
			labels = append(labels, *rec.LabelsCorrect)
		}
	}
	return costs, ssims, labels
}

// meanOrNaN is the mean of xs, NaN (shown "–") for none.
func meanOrNaN(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Mean(xs)
}

func cell(v float64, format string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// MarkdownTable renders the summaries as a Markdown table ("–" where a value is missing: SSIM in results
// written before it existed, iDLG's labels where they were known).
func MarkdownTable(summaries []Summary) string {
	var b strings.Builder
	b.WriteString("| observed | step | batch | variant | victim acc | images | PSNR dB (mean ± std) | SSIM (mean ± std) | recovered (≥ 20 dB) | MSE | iDLG labels right | attack objective | gradient-matching cost 1 − cos (authors' metric) | p (Welch vs baseline) | Cohen's d |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range summaries {
		ssim := "–"
		if !math.IsNaN(s.MeanSSIM) {
			ssim = cell(s.MeanSSIM, "%.3f") + " ± " + cell(s.StdSSIM, "%.3f")
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %d | %s ± %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			s.Observe, s.Step, s.BatchSize, s.Variant, cell(s.VictimAccuracy*100, "%.1f %%"), s.Images,
			cell(s.MeanPSNR, "%.1f"), cell(s.StdPSNR, "%.1f"), ssim, cell(s.Recovered*100, "%.0f %%"), cell(s.MeanMSE, "%.2g"),
			cell(s.LabelsCorrect*100, "%.0f %%"), cell(s.MeanObjective, "%.3g"), cell(s.MeanMatchingCost, "%.3g"),
			cell(s.P, "%.3g"), cell(s.CohenD, "%.2f"))
	}
	return b.String()
}

// WriteCSV writes one row per attacked image; ssim is empty where it was not recorded, labels_correct (the
// batch's fraction of labels iDLG recovered) where the labels were known.
func WriteCSV(w io.Writer, r *ExperimentResult) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"variant", "seed", "step", "observe", "batch_size", "batch", "image_index", "label",
		"victim_accuracy", "best_objective", "matching_cost", "mse", "psnr", "ssim", "labels_correct", "seconds"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, rec := range r.Records {
		labels := ""
		if rec.LabelsCorrect != nil {
			labels = f(*rec.LabelsCorrect)
		}
		for i := range rec.MSE {
			ssim := ""
			if i < len(rec.SSIM) {
				ssim = f(rec.SSIM[i])
			}
			_ = cw.Write([]string{rec.Variant, strconv.FormatInt(rec.Seed, 10), strconv.Itoa(rec.Step), string(rec.Observe),
				strconv.Itoa(rec.BatchSize), strconv.Itoa(rec.Batch), strconv.Itoa(rec.Indices[i]),
				strconv.Itoa(int(rec.Labels[i])), f(rec.VictimAccuracy), f(rec.BestObjective), f(rec.MatchingCost), f(rec.MSE[i]), f(rec.PSNR[i]),
				ssim, labels, f(rec.Seconds)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole result (configuration, every record with its reconstruction of the first batch).
func WriteJSON(w io.Writer, r *ExperimentResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(r)
}

// ReadJSON reads a result written by WriteJSON.
func ReadJSON(rd io.Reader) (*ExperimentResult, error) {
	var r ExperimentResult
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("attack: reading results: %w", err)
	}
	return &r, nil
}

// grayImage turns h·w·c pixels in [lo, hi] (the first channel) into a grey image.
func grayImage(px []float32, shape [3]int, lo, hi float64) image.Image {
	h, w, c := shape[0], shape[1], shape[2]
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range h {
		for j := range w {
			v := (float64(px[(i*w+j)*c]) - lo) / (hi - lo)
			img.SetGray(j, i, color.Gray{Y: uint8(math.Round(255 * min(max(v, 0), 1)))})
		}
	}
	return img
}

// WritePictures draws, per (observation, snapshot), the first seed's first batch of the largest batch size:
// the originals in the top row and each variant's matched reconstructions below, with its PSNRs. It returns
// the paths written.
func WritePictures(dir string, r *ExperimentResult) ([]string, error) {
	if len(r.Records) == 0 {
		return nil, nil
	}
	bs := slices.Max(r.Config.BatchSizes)
	seed := r.Config.FirstSeed
	shape := r.Config.Attack.ImageShape
	lo, hi := r.Config.Attack.Min, r.Config.Attack.Max
	var paths []string
	for _, obs := range r.Config.Observations {
		for _, step := range r.Config.Snapshots {
			var rows []*Record
			for _, v := range r.Variants {
				for _, rec := range r.Records {
					if rec.Variant == v.Name && rec.Seed == seed && rec.Step == step && rec.Observe == obs &&
						rec.BatchSize == bs && rec.Batch == 0 && len(rec.Reconstruction) > 0 {
						rows = append(rows, rec)
					}
				}
			}
			if len(rows) == 0 {
				continue
			}
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s observed, step %d, batch of %d", obs, step, bs)
			f := shape[0] * shape[1] * shape[2]
			names := []string{}
			n := len(rows) + 1
			for i := range rows {
				rec := rows[i]
				y := float64(n - 2 - i)
				var ps []string
				for _, v := range rec.PSNR {
					ps = append(ps, cell(v, "%.0f"))
				}
				names = append([]string{fmt.Sprintf("%s (%s dB)", rec.Variant, strings.Join(ps, ", "))}, names...)
				for j := range bs {
					p.Add(plotter.NewImage(grayImage(rec.Reconstruction[j*f:(j+1)*f], shape, lo, hi), float64(j)+0.05, y-0.45, float64(j)+0.95, y+0.45))
				}
			}
			names = append(names, "original")
			first := rows[0]
			for j := range bs {
				px := originalPixels(r, first, j)
				if px == nil {
					continue
				}
				p.Add(plotter.NewImage(grayImage(px, shape, lo, hi), float64(j)+0.05, float64(n-1)-0.45, float64(j)+0.95, float64(n-1)+0.45))
			}
			p.NominalY(names...)
			p.X.Min, p.X.Max = 0, float64(bs)
			p.HideX()
			path := filepath.Join(dir, fmt.Sprintf("reconstructions_%s_step%d.png", obs, step))
			if err := p.Save(vg.Length(3.2+0.9*float64(bs))*vg.Inch, vg.Length(0.9*float64(n)+0.6)*vg.Inch, path); err != nil {
				return paths, fmt.Errorf("attack: writing %s: %w", path, err)
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// originalPixels returns the original pixels of image j of rec (nil when r does not hold them).
func originalPixels(r *ExperimentResult, rec *Record, j int) []float32 {
	if r.Originals == nil {
		return nil
	}
	return r.Originals[rec.Indices[j]]
}

// victimModel describes the victim network of a design.
func victimModel(c ExperimentConfig) string {
	switch {
	case len(c.StageWidths) > 0:
		parts := make([]string, len(c.StageWidths))
		for i, w := range c.StageWidths {
			parts[i] = strconv.Itoa(w)
		}
		return fmt.Sprintf("%s (stage widths %s)", c.Model, strings.Join(parts, "-"))
	case c.Width == 0:
		return fmt.Sprintf("%s (the paper's size)", c.Model)
	}
	return fmt.Sprintf("%s (width %d)", c.Model, c.Width)
}

// labelsText describes how the attacker obtained the labels.
func labelsText(m LabelMode) string {
	if m == LabelsIDLG {
		return "labels inferred by iDLG from the classifier's gradient (Zhao et al. 2020; the k most negative bias-gradient entries for a batch of k, so repeated labels cannot be recovered)"
	}
	return "labels known"
}

// Outputs lists the files written by WriteOutputs.
type Outputs struct {
	Markdown, CSV, JSON string
	Pictures            []string
}

// WriteOutputs writes attack.md, attack.csv, attack.json and the reconstruction pictures into dir.
func WriteOutputs(dir string, r *ExperimentResult) (Outputs, error) {
	out := Outputs{Markdown: filepath.Join(dir, "attack.md"), CSV: filepath.Join(dir, "attack.csv"),
		JSON: filepath.Join(dir, "attack.json")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("attack: creating %s: %w", dir, err)
	}
	write := func(path string, fn func(w io.Writer) error) error {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("attack: %w", err)
		}
		if err := fn(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("attack: writing %s: %w", path, err)
		}
		return f.Close()
	}
	if err := write(out.CSV, func(w io.Writer) error { return WriteCSV(w, r) }); err != nil {
		return out, err
	}
	if err := write(out.JSON, func(w io.Writer) error { return WriteJSON(w, r) }); err != nil {
		return out, err
	}
	pics, err := WritePictures(dir, r)
	out.Pictures = pics
	if err != nil {
		return out, err
	}
	err = write(out.Markdown, func(w io.Writer) error {
		_, err := io.WriteString(w, MarkdownReport(r, pics))
		return err
	})
	return out, err
}

// MarkdownReport is attack.md: the design, the table and the pictures.
func MarkdownReport(r *ExperimentResult, pictures []string) string {
	c := r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "# Gradient inversion (Geiping et al. 2020) against %s\n\n", victimModel(c))
	if c.Protocol != "" {
		fmt.Fprintf(&b, "Protocol: %s.\n\n", c.Protocol)
	}
	inputs := "pixels in [0, 1]"
	if c.Normalize != nil {
		inputs = fmt.Sprintf("pixels standardised in the model graph with mean %g and std %g", c.Normalize.Mean, c.Normalize.Std)
	}
	fmt.Fprintf(&b, "Victims: %d seed(s) per variant, SGD lr %g, batch %d, inputs %s, ν %g, d %g, attacked at training steps %v. "+
		"Attack: batches of %v held-out test images, %d batch(es) each, %d iterations of Adam (lr %g, signed: %v, TV %g) on pixels in [%g, %g], "+
		"%s. PSNR and SSIM (Wang et al. 2004, 11×11 Gaussian window of σ 1.5) of each image against its matched reconstruction; "+
		"higher PSNR or SSIM = more leakage.\n\n",
		c.Seeds, c.LR, c.TrainBatchSize, inputs, c.Base.FuzzyLearningRateFactorNu, c.Base.RejuvenationParameterDre, c.Snapshots,
		c.BatchSizes, c.Batches, c.Attack.Iterations, c.Attack.LearningRate, c.Attack.Signed, c.Attack.TotalVariation,
		c.Attack.Min, c.Attack.Max, labelsText(c.Labels))
	b.WriteString("Observed `gradient`: the plain weight gradient. Observed `update`: the gradient times the victim's " +
		"private fuzzy factors (the direction of its SGD update); identical to `gradient` for variants without fuzzy learning rates.\n\n")
	b.WriteString(MarkdownTable(Summarize(r)))
	if len(r.Errors) > 0 {
		b.WriteString("\nFailed victims:\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	fmt.Fprintf(&b, "\nWall time: %.0f s.\n", r.WallSeconds)
	for _, p := range pictures {
		fmt.Fprintf(&b, "\n![%s](%s)\n", filepath.Base(p), filepath.Base(p))
	}
	return b.String()
}
