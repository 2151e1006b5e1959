//go:build !xla

package backend

import "github.com/gomlx/gomlx/backends"

const xlaCompiledIn = false

// newXLA is never reached without the xla build tag: New rejects "xla:…" first.
func newXLA(name, _ string) (backends.Backend, error) {
	panic("backend: newXLA(" + name + ") called in a build without -tags xla")
}
