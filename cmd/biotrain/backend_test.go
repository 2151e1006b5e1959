package main

import (
	"bytes"
	"strings"
	"testing"

	internalbackend "github.com/bio-transformations/go-bio/internal/backend"
)

// The -backend flag of train and compare defaults to $GOMLX_BACKEND, and a run on an XLA backend in a build
// without it fails with the reason.
func TestBackendFlag(t *testing.T) {
	t.Setenv(internalbackend.EnvVar, "go")
	var stderr bytes.Buffer
	o, err := parseTrain([]string{"-backend", "xla:cuda"}, &stderr, &stderr)
	if err != nil || o.backend != "xla:cuda" {
		t.Fatalf("train -backend xla:cuda: %v, backend %q", err, o.backend)
	}
	if o, err = parseTrain(nil, &stderr, &stderr); err != nil || o.backend != "go" {
		t.Fatalf("train default backend %q (err %v), want go from $%s", o.backend, err, internalbackend.EnvVar)
	}
	c, err := parseCompare([]string{"-backend", "xla:cpu"}, &stderr)
	if err != nil || c.backend != "xla:cpu" {
		t.Fatalf("compare -backend xla:cpu: %v", err)
	}
	if internalbackend.XLACompiledIn() {
		return
	}
	data := writeFakeMNIST(t, 60, 20)
	var stdout bytes.Buffer
	err = run([]string{"train", "-data", data, "-width", "8", "-epochs", "1", "-batch", "10", "-progress=false", "-backend", "xla:cuda"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-tags xla") {
		t.Fatalf("train on xla:cuda without the tag: %v, want an error naming -tags xla", err)
	}
}
