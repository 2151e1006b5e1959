// Package backend creates the GoMLX backend the project's programs and tests run on, from a name:
//
//   - "go": GoMLX's pure-Go backend (simplego), always compiled in, cgo-free;
//   - "xla:cpu", "xla:cuda" (or "xla:<plugin>", "xla" for the first plugin found): GoMLX's XLA backend
//     with the named PJRT plugin; compiled in only when building with `-tags xla` (it needs cgo).
//
// An empty name means $GOMLX_BACKEND, and "go" when that is unset too. The XLA backend loads its PJRT
// plugin, pjrt_c_api_<plugin>_plugin.so, from the folders on $PJRT_PLUGIN_LIBRARY_PATH (or go-xla's
// default folders ~/.local/lib/go-xla and /usr/local/lib/go-xla). Unlike a plain GoMLX program, this
// package does not let go-xla download missing plugins: set BIO_XLA_AUTO_INSTALL=1 to allow it.
package backend

import (
	"os"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/pkg/errors"
)

const (
	// EnvVar is the environment variable that names the backend when none is given: GoMLX's own.
	EnvVar = backends.ConfigEnvVar
	// Go is the name of GoMLX's pure-Go backend, the default.
	Go = "go"
	// XLAPrefix starts the names of the XLA backends: "xla:cpu", "xla:cuda".
	XLAPrefix = "xla"
	// AutoInstallEnvVar, set to 1, lets go-xla download a missing PJRT plugin (it is off by default, so
	// that asking for an absent plugin fails at once instead of waiting on the network).
	AutoInstallEnvVar = "BIO_XLA_AUTO_INSTALL"
)

// Name returns the backend name New uses for "": $GOMLX_BACKEND, or "go" when it is unset or empty.
func Name() string {
	if name := strings.TrimSpace(os.Getenv(EnvVar)); name != "" {
		return name
	}
	return Go
}

// IsGo reports whether name (after resolving "" as New does) is GoMLX's pure-Go backend.
func IsGo(name string) bool {
	if name == "" {
		name = Name()
	}
	kind, _, _ := strings.Cut(name, ":")
	return kind == Go || kind == "simplego"
}

// XLACompiledIn reports whether this binary was built with `-tags xla`, i.e. whether New accepts "xla:…".
func XLACompiledIn() bool { return xlaCompiledIn }

// New creates the backend called name: "go", "xla:cpu", "xla:cuda", "xla:<plugin>[,options]" or "" for
// Name(). Asking for XLA in a binary built without `-tags xla` returns an error that says so.
func New(name string) (backends.Backend, error) {
	if name == "" {
		name = Name()
	}
	kind, config, _ := strings.Cut(name, ":")
	switch kind {
	case Go, "simplego":
		b, err := simplego.New(config)
		return b, errors.WithMessagef(err, "backend %q", name)
	case XLAPrefix, "stablehlo":
		if !xlaCompiledIn {
			return nil, errors.Errorf("backend %q: this binary was built without XLA support; "+
				"rebuild it with `-tags xla` (cgo and a PJRT plugin needed, see the README, \"Running on XLA\"), "+
				"or use %q", name, Go)
		}
		return newXLA(name, config)
	default:
		return nil, errors.Errorf("backend %q is not known: use %q, %q, %q or %q (from -backend or $%s)",
			name, Go, "xla:cpu", "xla:cuda", "xla:<PJRT plugin>", EnvVar)
	}
}

// Must is New that panics on error, for tests and examples.
func Must(name string) backends.Backend {
	b, err := New(name)
	if err != nil {
		panic(err)
	}
	return b
}
