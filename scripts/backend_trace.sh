#!/bin/sh
# backend_trace.sh: trace the bio step with an instrumented copy of GoMLX's Go backend — when each op runs,
# how often both cores are busy, which buffers are live at the step's peak (cmd/biobench -trace).
#
#   sh scripts/backend_trace.sh -variants reference_loop -steps 10 -trace out/trace/trace.md
#
# It copies the GoMLX module from the module cache to a temporary folder, patches the copy
# (scripts/tracepatch), writes a go.work there that replaces GoMLX by the copy, runs
# `go run -tags biotrace ./cmd/biobench` with the given flags, and removes the folder. The module cache,
# go.mod and the working tree stay untouched.
set -eu

GO=${GO:-go}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/go-bio-trace.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

root=$(pwd)
src=$($GO list -m -f '{{.Dir}}' github.com/gomlx/gomlx)
version=$($GO list -m -f '{{.Version}}' github.com/gomlx/gomlx)
goversion=$(awk '$1 == "go" {print $2; exit}' go.mod)
[ -n "$src" ] || { echo "backend_trace: GoMLX not in the module cache: run go mod download" >&2; exit 1; }

cp -R "$src" "$DIR/gomlx"
chmod -R u+w "$DIR/gomlx"
$GO run ./scripts/tracepatch "$DIR/gomlx/backends/simplego"
cat >"$DIR/go.work" <<WORK
go $goversion

use $root

replace github.com/gomlx/gomlx $version => ./gomlx
WORK
# -trimpath: the copy's temporary path then does not enter the build cache's keys, and later runs reuse
# the compiled packages.
GOWORK="$DIR/go.work" $GO run -trimpath -tags biotrace ./cmd/biobench "$@"
