// Command tracepatch instruments a copy of GoMLX's pure-Go backend (package simplego) for
// `go run -tags biotrace ./cmd/biobench -trace`: it records when every op of a graph runs and which buffers
// are live at the peak of a step. It edits a copy, never the module cache: scripts/backend_trace.sh makes
// the copy, runs this command on it, and points a go.work at it.
//
//	go run ./scripts/tracepatch DIR   # DIR: the copy's backends/simplego folder
//
// The hooks are three insertions, each found by a line of GoMLX v0.26's source; if GoMLX changes those
// lines, the command fails naming the one it did not find.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// edit inserts text after the first occurrence of anchor in a file.
type edit struct {
	file, anchor, insert string
}

var edits = []edit{
	{"buffers.go", "\tbuf.valid = true\n", "\ttraceAlloc(buf, int64(length)*int64(dtype.Size()))\n"},
	{"buffers.go", "\tbuffer.valid = false\n", "\ttraceFree(buffer)\n"},
	{"exec.go", "func (e *Executable) executeNode(node *Node, execBuf *executionBuffers) error {\n\tnodeIdx := node.builderIdx\n",
		"\tif traceOn.Load() {\n\t\tdefer traceOp(nodeIdx, node, execBuf.results, traceNow())\n\t}\n"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracepatch DIR (a copy of GoMLX's backends/simplego)")
		os.Exit(2)
	}
	if err := patch(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "tracepatch:", err)
		os.Exit(1)
	}
}

// patch applies the edits to the simplego sources in dir and adds the recorder (biotrace.go). It writes
// nothing unless every edit applies.
func patch(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "biotrace.go")); err == nil {
		return fmt.Errorf("%s is already patched (biotrace.go exists)", dir)
	}
	sources := map[string]string{}
	for _, e := range edits {
		path := filepath.Join(dir, e.file)
		if _, ok := sources[path]; !ok {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sources[path] = string(src)
		}
		s := sources[path]
		i := strings.Index(s, e.anchor)
		if i < 0 {
			return fmt.Errorf("%s: line %q not found: this GoMLX version is not the one the patch knows (v0.26)",
				path, strings.TrimSpace(strings.SplitN(e.anchor, "\n", 2)[0]))
		}
		i += len(e.anchor)
		sources[path] = s[:i] + e.insert + s[i:]
	}
	sources[filepath.Join(dir, "biotrace.go")] = recorder
	for path, s := range sources {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}
