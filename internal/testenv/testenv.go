// Package testenv holds what the tests of several packages share: the backend they run on (GoMLX's pure-Go
// backend unless $GOMLX_BACKEND names another, see package internal/backend), contexts with a fixed seed,
// and the helpers for tests whose expectations depend on the backend.
//
// The library's tests run on any backend: GOMLX_BACKEND=xla:cuda go test -tags xla ./bio/ ./biolayers/ …
// Expected values were measured on the Go backend. Where another backend may legitimately differ in the last
// bits, tests compare with Tol; tests that need a property only the Go backend has call RequireGo and are
// skipped elsewhere with the reason.
package testenv

import (
	"sync"
	"testing"

	"github.com/bio-transformations/go-bio/internal/backend"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// XLARelTol is the relative tolerance Tol allows on a backend other than the Go backend, for float32 results
// of a few hundred operations: XLA fuses multiply-adds, reorders and tree-reduces sums (on GPU too), so its
// results may differ from the Go backend's by a few float32 ulps per operation (float32's ulp is 1.2e-7
// relative); 1e-5 leaves room for about a hundred of them.
const XLARelTol = 1e-5

// XLARelTol64 is the same for float64 results (ulp 2.2e-16): differences of order 1e-15 per operation are
// expected, 1e-9 leaves ample room. Tol64 applies it.
const XLARelTol64 = 1e-9

// Backend returns the backend named by $GOMLX_BACKEND ("go" when unset), created once and shared by the
// tests of a package. It panics with the reason when that backend cannot be created (e.g. "xla:cuda" in a
// build without -tags xla, or without the PJRT plugin).
var Backend = sync.OnceValue(func() backends.Backend {
	return backend.Must(backend.Name())
})

// IsGo reports whether the tests run on GoMLX's pure-Go backend.
func IsGo() bool { return backend.IsGo(backend.Name()) }

// RequireGo skips the test unless it runs on the Go backend; reason says which property of the Go backend
// it depends on (e.g. "golden values of its PCG random bit stream").
func RequireGo(t testing.TB, reason string) {
	t.Helper()
	if !IsGo() {
		t.Skipf("needs GoMLX's Go backend (GOMLX_BACKEND=%q): %s", backend.Name(), reason)
	}
}

// Tol returns the tolerance for a comparison whose expected value was measured on the Go backend: goTol
// there (often 0, or the comparison's own rounding allowance), and at least XLARelTol on other backends.
func Tol(goTol float64) float64 {
	if IsGo() {
		return goTol
	}
	return max(goTol, XLARelTol)
}

// Tol64 is Tol for float64 comparisons: goTol on the Go backend, at least XLARelTol64 elsewhere.
func Tol64(goTol float64) float64 {
	if IsGo() {
		return goTol
	}
	return max(goTol, XLARelTol64)
}

// Context returns a new context whose variable initialisers use seed: GoMLX's default seed is random, and
// a test must not depend on the draw.
func Context(seed int64) *context.Context {
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, seed)
	return ctx
}
