package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// referenceHidden and referenceBatch are the FCNet width and batch size of reference_overhead.py.
const referenceHidden, referenceBatch = 1000, 100

// referenceIDs maps the variants of shared/bench/reference_overhead.py onto our ids. Its "all" is the loop
// the reference's documentation shows (fuzzy + volume + crystallize + rejuvenation every step), our
// reference_loop; fuzzy_volume_crystallize has no variant of ours.
var referenceIDs = map[string]string{
	"plain":                    "plain",
	"fuzzy":                    "fuzzy",
	"fuzzy+volume+crystallize": "fuzzy_volume_crystallize",
	"all":                      "reference_loop",
}

// referenceLine is one JSON line printed by reference_overhead.py.
type referenceLine struct {
	Model       string   `json:"model"`
	Variant     string   `json:"variant"`
	StepMS      *float64 `json:"step_ms"`
	OverheadPct float64  `json:"overhead_pct"`
	Torch       string   `json:"torch"`
}

// readReference reads the JSON lines of reference_overhead.py from path; see parseReference.
func readReference(path string) ([]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-reference: %w", err)
	}
	defer f.Close()
	rs, err := parseReference(f)
	if err != nil {
		return nil, fmt.Errorf("-reference %s: %w", path, err)
	}
	return rs, nil
}

// parseReference parses the JSON lines of reference_overhead.py (blank lines are skipped) into results of
// source "reference", with ids mapped by referenceIDs and ratios to the reference's own plain step. A
// malformed line, an unknown or repeated variant, a step time ≤ 0 or a missing plain line is an error naming
// the line.
func parseReference(r io.Reader) ([]Result, error) {
	var rs []Result
	scanner := bufio.NewScanner(r)
	for n := 1; scanner.Scan(); n++ {
		text := bytes.TrimSpace(scanner.Bytes())
		if len(text) == 0 {
			continue
		}
		var line referenceLine
		if err := json.Unmarshal(text, &line); err != nil {
			return nil, fmt.Errorf("line %d %q: not a JSON object of reference_overhead.py: %w", n, text, err)
		}
		id, ok := referenceIDs[line.Variant]
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: unknown variant %q: allowed are %s", n, line.Variant, knownVariants())
		case line.StepMS == nil || *line.StepMS <= 0:
			return nil, fmt.Errorf("line %d: variant %q: step_ms must be present and > 0", n, line.Variant)
		case find(rs, SourceReference, id) != nil:
			return nil, fmt.Errorf("line %d: variant %q appears twice", n, line.Variant)
		}
		rs = append(rs, Result{ID: id, Variant: line.Variant, Source: SourceReference, MedianMS: *line.StepMS,
			Torch: line.Torch})
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	plain := find(rs, SourceReference, "plain")
	if plain == nil {
		return nil, fmt.Errorf("no line of variant \"plain\": the ratios need it")
	}
	base := plain.MedianMS
	for i := range rs {
		rs[i].RatioToPlain = round(rs[i].MedianMS / base)
		rs[i].OverheadPct = round(100 * (rs[i].MedianMS/base - 1))
	}
	return rs, nil
}

// knownVariants lists the keys of referenceIDs, sorted.
func knownVariants() string {
	var names []string
	for name := range referenceIDs {
		names = append(names, fmt.Sprintf("%q", name))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
