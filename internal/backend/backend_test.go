package backend

import (
	"strings"
	"testing"
)

func TestNameDefaultsToGo(t *testing.T) {
	t.Setenv(EnvVar, "")
	if got := Name(); got != Go {
		t.Fatalf("Name() with $%s empty = %q, want %q", EnvVar, got, Go)
	}
	t.Setenv(EnvVar, "xla:cuda")
	if got := Name(); got != "xla:cuda" {
		t.Fatalf("Name() = %q, want xla:cuda", got)
	}
	if IsGo("") || !IsGo("go") || IsGo("xla:cpu") {
		t.Fatal("IsGo wrong")
	}
}

func TestNewGo(t *testing.T) {
	b, err := New("go")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !strings.Contains(b.Name(), "go") || b.NumDevices() != 1 {
		t.Fatalf("New(go) = %s with %d devices", b.Name(), b.NumDevices())
	}
}

func TestNewUnknownNamesTheAllowedValues(t *testing.T) {
	_, err := New("tpu9")
	if err == nil || !strings.Contains(err.Error(), `"tpu9"`) || !strings.Contains(err.Error(), "xla:cuda") {
		t.Fatalf("New(tpu9) error = %v, want one naming the value and the allowed ones", err)
	}
}

func TestNewXLAWithoutPluginFailsClearly(t *testing.T) {
	// Without a plugin: an error at once (no download, no hang), in both builds. go-xla reads
	// PJRT_PLUGIN_LIBRARY_PATH when the program starts, so setting it here only documents the intent.
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv(AutoInstallEnvVar, "")
	_, err := New("xla:cuda")
	if err == nil {
		t.Skip("a cuda PJRT plugin was found: this test is for machines without one")
	}
	want := "-tags xla"
	if XLACompiledIn() {
		want = "pjrt_c_api_cuda_plugin.so"
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("New(xla:cuda) error = %v, want it to mention %q", err, want)
	}
	t.Log(err)
}
