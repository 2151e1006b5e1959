package main

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// simplegoDir is the module cache's copy of the backend the patch is written for.
func simplegoDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/gomlx/gomlx").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "backends", "simplego")
}

// TestPatch patches a copy of the two sources it edits: every hook lands once, the files still parse, and
// a second run refuses to patch twice.
func TestPatch(t *testing.T) {
	src, dir := simplegoDir(t), t.TempDir()
	for _, name := range []string{"exec.go", "buffers.go"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := patch(dir); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		data, err := os.ReadFile(filepath.Join(dir, e.file))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), e.anchor+e.insert); n != 1 {
			t.Errorf("%s: hook %q inserted %d times, want 1", e.file, strings.TrimSpace(e.insert), n)
		}
	}
	for _, name := range []string{"exec.go", "buffers.go", "biotrace.go"} {
		if _, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, 0); err != nil {
			t.Errorf("%s after the patch: %v", name, err)
		}
	}
	if err := patch(dir); err == nil || !strings.Contains(err.Error(), "already patched") {
		t.Errorf("second patch: %v, want an error saying it is already patched", err)
	}
}

// TestPatchUnknownSource fails naming the line it did not find, and changes nothing: here buffers.go is
// GoMLX's and its hooks would apply, but exec.go's would not.
func TestPatchUnknownSource(t *testing.T) {
	dir := t.TempDir()
	buffers, err := os.ReadFile(filepath.Join(simplegoDir(t), "buffers.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"exec.go": []byte("package simplego\n"), "buffers.go": buffers}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err = patch(dir)
	if err == nil || !strings.Contains(err.Error(), "executeNode") || !strings.Contains(err.Error(), "v0.26") {
		t.Fatalf("patch of unknown sources: %v, want an error naming the missing line and the version", err)
	}
	for name, want := range files {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != string(want) {
			t.Errorf("%s changed although the patch failed", name)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dir, "biotrace.go")); statErr == nil {
		t.Error("biotrace.go written although the patch failed")
	}
}
