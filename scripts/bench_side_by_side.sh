#!/bin/sh
# Side-by-side step-time benchmark: the PyTorch reference package (shared/bench/reference_overhead.py) and,
# right after it, cmd/biobench, whose Markdown table puts both next to each other. Run from the repository
# root, usually as `make bench-side-by-side`. Nothing is installed: missing pieces are reported with the
# command that installs them.
#
# Variables (environment or make command line):
#   REFERENCE_SRC     a checkout of CeadeS/pytorch_bio_transformations to use as is; when unset, branch
#                     $REFERENCE_BRANCH is exported from the bare mirror $REFERENCE_MIRROR into
#                     out/reference-src (under out/, never committed)
#   REFERENCE_MIRROR  default /work/.mirror/CeadeS+pytorch_bio_transformations/repo
#   REFERENCE_BRANCH  default dev
#   REFERENCE_SCRIPT  default ../shared/bench/reference_overhead.py
#   PYTHON            default /usr/bin/python3 (Debian's python3-torch)
#   OUT               output folder, default out/bench
#   BENCH_FLAGS       extra flags of cmd/biobench, e.g. "-steps 50" or "-variants plain,fuzzy,reference_loop,all"
#   GO                default go
set -eu

REFERENCE_MIRROR=${REFERENCE_MIRROR:-/work/.mirror/CeadeS+pytorch_bio_transformations/repo}
REFERENCE_BRANCH=${REFERENCE_BRANCH:-dev}
REFERENCE_SCRIPT=${REFERENCE_SCRIPT:-../shared/bench/reference_overhead.py}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-out/bench}
BENCH_FLAGS=${BENCH_FLAGS:-}
GO=${GO:-go}
BLAS=libblas.so.3-x86_64-linux-gnu

fail() {
	echo "bench-side-by-side: $*" >&2
	exit 1
}

# PyTorch, and OpenBLAS behind it: netlib's reference BLAS makes the reference's dense layers ~10× slower.
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
	fail "$PYTHON cannot import torch. Install Debian's PyTorch and OpenBLAS:
    apt-get update && apt-get install -y python3-torch libopenblas0-pthread"
fi
command -v update-alternatives >/dev/null || fail "update-alternatives not found: cannot check which BLAS PyTorch uses"
if ! update-alternatives --display "$BLAS" 2>/dev/null | grep -q 'currently points to .*openblas'; then
	update-alternatives --display "$BLAS" >&2 || true
	fail "$BLAS does not point to OpenBLAS. Install and select it:
    apt-get install -y libopenblas0-pthread
    update-alternatives --set $BLAS /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
fi
[ -f "$REFERENCE_SCRIPT" ] || fail "reference script $REFERENCE_SCRIPT not found (set REFERENCE_SCRIPT)"

# The reference package's source.
if [ -z "${REFERENCE_SRC:-}" ]; then
	[ -d "$REFERENCE_MIRROR" ] || fail "no reference mirror at $REFERENCE_MIRROR: set REFERENCE_MIRROR to a git \
mirror of github.com/CeadeS/pytorch_bio_transformations, or REFERENCE_SRC to a checkout"
	REFERENCE_SRC=out/reference-src
	rm -rf "$REFERENCE_SRC"
	mkdir -p "$REFERENCE_SRC"
	git --git-dir="$REFERENCE_MIRROR" archive "$REFERENCE_BRANCH" | tar -x -C "$REFERENCE_SRC"
fi
[ -d "$REFERENCE_SRC/bio_transformations" ] || fail "$REFERENCE_SRC has no bio_transformations/ package"
REFERENCE_SRC=$(cd "$REFERENCE_SRC" && pwd)

mkdir -p "$OUT"
echo "reference: $REFERENCE_SCRIPT with PYTHONPATH=$REFERENCE_SRC (1-2 minutes)" >&2
PYTHONPATH="$REFERENCE_SRC" "$PYTHON" "$REFERENCE_SCRIPT" >"$OUT/reference.jsonl"
echo "ours: go run ./cmd/biobench $BENCH_FLAGS" >&2
# shellcheck disable=SC2086 # BENCH_FLAGS holds several flags
GOMLX_BACKEND=${GOMLX_BACKEND:-go} "$GO" run ./cmd/biobench -reference "$OUT/reference.jsonl" \
	-out "$OUT/bench.json" -md "$OUT/bench.md" $BENCH_FLAGS
