package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Sources of a Result.
const (
	SourceOurs      = "ours"
	SourceReference = "reference"
)

// Result is one variant's measurement, ours or the reference's.
type Result struct {
	// ID is the stable variant id (internal/benchvariants; the reference's ids are mapped onto them).
	ID string `json:"id"`
	// Variant is a readable name; for the reference, its own variant name.
	Variant string `json:"variant"`
	// Source is "ours" or "reference".
	Source string `json:"source"`
	// MedianMS is the median wall time of a training step, in milliseconds.
	MedianMS float64 `json:"median_ms_per_step"`
	// RatioToPlain is MedianMS over the plain step of the same source.
	RatioToPlain float64 `json:"ratio_to_plain"`
	// OverheadPct is 100·(RatioToPlain − 1).
	OverheadPct float64 `json:"overhead_percent"`
	// PeakHeapMB is the peak live heap of a step above the heap before it, in MiB (max over the heap
	// steps); ours only.
	PeakHeapMB *float64 `json:"peak_heap_mb,omitempty"`
	// AllocMBPerStep is the heap allocated by one step, in MiB (median over the heap steps); ours only.
	AllocMBPerStep *float64 `json:"alloc_mb_per_step,omitempty"`
	// Steps is the number of timed steps (ours only; the reference script times 50).
	Steps int `json:"steps,omitempty"`
	// Configuration is the bio.Config string of our variant, empty for plain.
	Configuration string `json:"configuration,omitempty"`
	// Torch is the PyTorch version of a reference line.
	Torch string `json:"torch,omitempty"`
}

// Kernel is the size of one dense layer's kernel, to compare the peak heap with.
type Kernel struct {
	Layer string  `json:"layer"`
	Shape []int   `json:"shape"`
	MB    float64 `json:"mb"`
}

// BioWork is the time a source's reference loop spends on bio work: loop step − plain step.
type BioWork struct {
	OursMS      float64 `json:"ours_ms"`
	ReferenceMS float64 `json:"reference_ms"`
}

// Report is the JSON the command writes.
type Report struct {
	Model      string `json:"model"`
	Batch      int    `json:"batch"`
	Backend    string `json:"backend"`
	GoMaxProcs int    `json:"gomaxprocs"`
	When       string `json:"when"`
	// HeapMethod says how PeakHeapMB was measured.
	HeapMethod string   `json:"heap_method"`
	Kernels    []Kernel `json:"kernels"`
	// HeapBoundMB is the plain step's peak heap plus two kernel-sized buffers per layer: the bound a bio
	// step's peak heap should stay under.
	HeapBoundMB float64  `json:"heap_bound_mb,omitempty"`
	Results     []Result `json:"results"`
	// Note warns when the reference's lines do not compare with ours (another width or batch size).
	Note string `json:"note,omitempty"`
	// ReferenceLoopBioWork is set when both sources measured plain and reference_loop.
	ReferenceLoopBioWork *BioWork `json:"reference_loop_bio_work,omitempty"`
}

// find returns the result of id from source, or nil.
func find(results []Result, source, id string) *Result {
	for i := range results {
		if results[i].Source == source && results[i].ID == id {
			return &results[i]
		}
	}
	return nil
}

// bioWork returns the reference loop's bio work of both sources, or nil if one is missing.
func bioWork(results []Result) *BioWork {
	var ms [2]float64
	for i, src := range []string{SourceOurs, SourceReference} {
		plain, loop := find(results, src, "plain"), find(results, src, "reference_loop")
		if plain == nil || loop == nil {
			return nil
		}
		ms[i] = round(loop.MedianMS - plain.MedianMS)
	}
	return &BioWork{OursMS: ms[0], ReferenceMS: ms[1]}
}

// writeJSON writes v, indented, to path, creating its folder.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(data, '\n'))
}

// writeFile writes data to path, creating its folder.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// round keeps 4 significant digits: enough for timings and sizes, and small sizes keep theirs.
func round(x float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	return r
}

func ptr(x float64) *float64 { return &x }
