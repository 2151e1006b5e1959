package main

import (
	"fmt"
	"strings"
)

// markdown renders the report as a Markdown table, ours and the reference's side by side, one row per id
// (ours in their stable order, then ids only the reference has), followed by the kernel sizes and the bio
// work of the reference loop.
func markdown(rep *Report) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s, batch %d, plain SGD; ours: GoMLX backend %q, GOMAXPROCS %d, %s\n\n",
		rep.Model, rep.Batch, rep.Backend, rep.GoMaxProcs, rep.When)
	if rep.Note != "" {
		fmt.Fprintf(&sb, "**Warning:** %s.\n\n", rep.Note)
	}
	sb.WriteString("| id | variant | ours ms/step | ours ×plain | ours peak heap MB | reference ms/step | reference ×plain |\n")
	sb.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
	for _, id := range rowIDs(rep.Results) {
		ours, ref := find(rep.Results, SourceOurs, id), find(rep.Results, SourceReference, id)
		name := ""
		cells := []string{"—", "—", "—", "—", "—"}
		if ours != nil {
			name = ours.Variant
			cells[0], cells[1] = fmt.Sprintf("%.2f", ours.MedianMS), fmt.Sprintf("×%.2f", ours.RatioToPlain)
			if ours.PeakHeapMB != nil {
				cells[2] = formatMB(*ours.PeakHeapMB)
			}
		}
		if ref != nil {
			if name == "" {
				name = "reference: " + ref.Variant
			}
			cells[3], cells[4] = fmt.Sprintf("%.2f", ref.MedianMS), fmt.Sprintf("×%.2f", ref.RatioToPlain)
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", id, name, strings.Join(cells, " | "))
	}
	sb.WriteString("\n")
	var ks []string
	for _, k := range rep.Kernels {
		ks = append(ks, fmt.Sprintf("%s %d×%d = %s MB", k.Layer, k.Shape[0], k.Shape[1], formatMB(k.MB)))
	}
	fmt.Fprintf(&sb, "Kernel sizes (float32, MB = 10⁶ bytes): %s.", strings.Join(ks, ", "))
	if rep.HeapBoundMB > 0 {
		fmt.Fprintf(&sb, " Peak heap bound of a bio step, plain + two kernel-sized buffers per layer: %s MB.",
			formatMB(rep.HeapBoundMB))
	}
	sb.WriteString("\n\n")
	if w := rep.ReferenceLoopBioWork; w != nil {
		fmt.Fprintf(&sb, "bio work of the reference loop: ours %.2f ms (loop − plain) vs reference %.2f ms\n",
			w.OursMS, w.ReferenceMS)
	} else {
		sb.WriteString("bio work of the reference loop: needs plain and reference_loop from both sources\n")
	}
	return sb.String()
}

// rowIDs returns the ids of the table's rows: ours in the order measured, then the reference's other ids.
func rowIDs(results []Result) []string {
	var ids []string
	seen := map[string]bool{}
	for _, src := range []string{SourceOurs, SourceReference} {
		for _, r := range results {
			if r.Source == src && !seen[r.ID] {
				seen[r.ID] = true
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

// formatMB formats a size in MB with two decimals, or three significant digits under 1 MB.
func formatMB(mb float64) string {
	if mb < 1 {
		return fmt.Sprintf("%.3g", mb)
	}
	return fmt.Sprintf("%.2f", mb)
}
