package experiments

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// MeanCurve is the learning curve of a variant aggregated over its seeds at the steps evaluated by all of them.
type MeanCurve struct {
	Variant string
	Steps   []int
	// Mean, Min and Max of the validation accuracy over the seeds at each step.
	Mean, Min, Max []float64
}

// AggregateCurves returns the mean (and min–max) validation-accuracy curve of a variant over its successful
// runs, restricted to the steps every run evaluated. ok is false when the variant has no successful run.
func AggregateCurves(r *CompareResult, variant string) (mc MeanCurve, ok bool) {
	mc.Variant = variant
	var runs []*RunResult
	for _, run := range r.Runs {
		if run != nil && run.Error == "" && run.Config.Variant == variant && len(run.Curve) > 0 {
			runs = append(runs, run)
		}
	}
	if len(runs) == 0 {
		return mc, false
	}
	for _, p := range runs[0].Curve {
		vals := make([]float64, 0, len(runs))
		for _, run := range runs {
			for _, q := range run.Curve {
				if q.Step == p.Step {
					vals = append(vals, q.ValAccuracy)
					break
				}
			}
		}
		if len(vals) != len(runs) {
			continue
		}
		sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			sum += v
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		mc.Steps = append(mc.Steps, p.Step)
		mc.Mean = append(mc.Mean, sum/float64(len(vals)))
		mc.Min, mc.Max = append(mc.Min, lo), append(mc.Max, hi)
	}
	return mc, len(mc.Steps) > 0
}

// palette holds distinguishable colours for up to 12 variants (then repeats).
var palette = []color.RGBA{
	{0, 0, 0, 255}, {31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255},
	{23, 190, 207, 255}, {100, 50, 0, 255},
}

// curvesPlot builds one panel: the mean curves of the given variants with min–max bands.
func curvesPlot(r *CompareResult, title string, variants []string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "training step"
	p.Y.Label.Text = "validation accuracy (mean, band: min–max over seeds)"
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	yMin, lastHigh := 1.0, 0.0
	for i, name := range variants {
		mc, ok := AggregateCurves(r, name)
		if !ok {
			continue
		}
		col := palette[i%len(palette)]
		line := make(plotter.XYs, len(mc.Steps))
		band := make(plotter.XYs, 0, 2*len(mc.Steps))
		for j, s := range mc.Steps {
			line[j] = plotter.XY{X: float64(s), Y: mc.Mean[j]}
			band = append(band, plotter.XY{X: float64(s), Y: mc.Max[j]})
			yMin = math.Min(yMin, mc.Min[j])
		}
		lastHigh = math.Max(lastHigh, mc.Mean[len(mc.Mean)-1])
		for j := len(mc.Steps) - 1; j >= 0; j-- {
			band = append(band, plotter.XY{X: float64(mc.Steps[j]), Y: mc.Min[j]})
		}
		if len(mc.Steps) > 1 {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, fmt.Errorf("plot %q, variant %q: band: %w", title, name, err)
			}
			poly.Color = color.NRGBA{R: col.R, G: col.G, B: col.B, A: 35} // Non-premultiplied: translucent.
			poly.LineStyle.Width = 0
			poly.LineStyle.Color = nil
			p.Add(poly)
		}
		l, err := plotter.NewLine(line)
		if err != nil {
			return nil, fmt.Errorf("plot %q, variant %q: %w", title, name, err)
		}
		l.Color = col
		l.Width = vg.Points(1.5)
		if i >= 6 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
	}
	// Zoom on the interesting part: the lowest accuracy after the first evaluation rarely matters.
	p.Y.Min = math.Max(0, math.Min(yMin, 0.98)-0.01)
	p.Y.Max = 1
	// The legend goes in the corner the curves leave free: bottom right when they end high (a trained
	// network), top right when every curve ends in the lower half (a short run still near chance).
	p.Legend.Top = lastHigh < (p.Y.Min+p.Y.Max)/2
	return p, nil
}

// WritePlots writes learning_curves.png (one panel per variant group: the factorial design, and the
// one-at-a-time mechanisms with the baseline for reference) and returns its path.
func WritePlots(dir string, r *CompareResult) ([]string, error) {
	var factorial, single []string
	for _, v := range r.Variants {
		switch v.Group {
		case GroupOneAtATime:
			single = append(single, v.Name)
		default:
			factorial = append(factorial, v.Name)
		}
	}
	var panels []*plot.Plot
	if len(factorial) > 0 {
		p, err := curvesPlot(r, "factorial: rejuvenation × fuzzy × Γ", factorial)
		if err != nil {
			return nil, err
		}
		panels = append(panels, p)
	}
	if len(single) > 0 {
		p, err := curvesPlot(r, "one mechanism at a time", append([]string{BaselineName}, single...))
		if err != nil {
			return nil, err
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("writing plots: no variants")
	}
	const panelW, panelH = 16 * vg.Centimeter, 12 * vg.Centimeter
	img := vgimg.NewWith(vgimg.UseWH(panelW*vg.Length(len(panels)), panelH), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Centimeter, PadTop: vg.Millimeter * 3,
		PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	path := filepath.Join(dir, "learning_curves.png")
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating plot %q: %w", path, err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("writing plot %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("closing plot %q: %w", path, err)
	}
	return []string{path}, nil
}
