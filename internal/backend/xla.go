//go:build xla

package backend

import (
	"os"
	"strings"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
	"github.com/pkg/errors"
)

const xlaCompiledIn = true

// newXLA creates GoMLX's XLA backend for the PJRT plugin named in config ("cpu", "cuda", an absolute path to
// a plugin file, or "" for the first plugin found), with go-xla's download of missing plugins switched off
// unless BIO_XLA_AUTO_INSTALL=1.
func newXLA(name, config string) (backends.Backend, error) {
	xla.EnableAutoInstall(os.Getenv(AutoInstallEnvVar) == "1")
	b, err := xla.New(config)
	if err != nil {
		plugin, _, _ := strings.Cut(config, ",")
		return nil, errors.WithMessagef(err, "backend %q: the PJRT plugin %q could not be loaded "+
			"(searched $%s=%q for pjrt_c_api_%s_plugin.so; plugins found: %v; see the README, \"Running on XLA\")",
			name, plugin, pjrt.PJRTPluginPathsEnv, os.Getenv(pjrt.PJRTPluginPathsEnv), plugin, pluginNames())
	}
	return b, nil
}

// pluginNames lists the PJRT plugins go-xla finds on its search path.
func pluginNames() []string {
	var names []string
	for name := range pjrt.AvailablePlugins() {
		names = append(names, name)
	}
	return names
}
