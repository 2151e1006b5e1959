//go:build !biotrace

package main

import (
	"errors"

	"github.com/bio-transformations/go-bio/internal/benchvariants"
)

// traceOut is the -trace flag's file; the flag exists only in the biotrace build (trace.go).
var traceOut string

// runTrace needs the biotrace build.
func runTrace([]benchvariants.Variant, options) error {
	return errors.New("-trace needs the instrumented backend: run scripts/backend_trace.sh")
}
