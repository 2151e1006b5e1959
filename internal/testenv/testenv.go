// Package testenv holds what the tests of several packages share: GoMLX's pure-Go backend and contexts
// with a fixed seed.
package testenv

import (
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Backend returns GoMLX's pure-Go backend, created once and shared by the tests of a package. Tests use it
// whatever GOMLX_BACKEND says: the expected values were measured on it.
var Backend = sync.OnceValue(func() backends.Backend {
	b, err := simplego.New("")
	if err != nil {
		panic(err)
	}
	return b
})

// Context returns a new context whose variable initialisers use seed: GoMLX's default seed is random, and
// a test must not depend on the draw.
func Context(seed int64) *context.Context {
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, seed)
	return ctx
}
