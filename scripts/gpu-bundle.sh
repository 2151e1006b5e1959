#!/usr/bin/env bash
# gpu-bundle.sh — build here what the GPU machine needs (it has no Go toolchain and no internet):
#   out/gpu/bin/*.gz   x86-64 cgo binaries built with -tags xla, stripped, gzip-compressed:
#                      biocheck (the cross-backend check) and the test binaries of the library packages
#   out/gpu/ref/       the reference PyTorch package (bio_transformations, branch dev), from a local git mirror
#   out/gpu/bench/     the PyTorch benchmark scripts of ../shared/bench (for reference)
#   out/gpu/MANIFEST   what was built, from which commit, sizes
# Then, on the GPU machine, from the repository root (out/gpu carried along):  bash scripts/gpu-run.sh
#
# Environment: REF_GIT_DIR (bare git dir of CeadeS/pytorch_bio_transformations), REF_BRANCH (dev),
# BENCH_DIR (../shared/bench), MAX_BUNDLE_MB (48: fail above; the travelling tree is limited to 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GO=${GO:-go}
OUT=out/gpu
REF_GIT_DIR=${REF_GIT_DIR:-/work/.mirror/CeadeS+pytorch_bio_transformations/repo}
REF_BRANCH=${REF_BRANCH:-dev}
BENCH_DIR=${BENCH_DIR:-../shared/bench}
MAX_BUNDLE_MB=${MAX_BUNDLE_MB:-48}
# Library packages whose tests run on the GPU (directory names; the test binary runs in that directory).
TEST_PKGS=${TEST_PKGS:-"bio biolayers models internal/backend"}

rm -rf "$OUT"
mkdir -p "$OUT/bin"
export CGO_ENABLED=1 GOOS=linux GOARCH=amd64
LDFLAGS="-s -w"
echo "building biocheck (-tags xla, cgo, stripped)"
$GO build -tags xla -trimpath -ldflags "$LDFLAGS" -o "$OUT/bin/biocheck" ./cmd/biocheck
for pkg in $TEST_PKGS; do
  name=$(echo "$pkg" | tr / _)
  echo "building the test binary of ./$pkg"
  $GO test -c -tags xla -trimpath -ldflags "$LDFLAGS" -o "$OUT/bin/$name.test" "./$pkg"
done
raw=$(du -cb "$OUT"/bin/* | tail -1 | cut -f1)
glibc=$(objdump -T "$OUT/bin/biocheck" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
gzip -9 "$OUT"/bin/*

if [ -d "$REF_GIT_DIR" ]; then
  mkdir -p "$OUT/ref"
  git --git-dir="$REF_GIT_DIR" archive "$REF_BRANCH" bio_transformations LICENSE | tar -x -C "$OUT/ref"
  ref_commit=$(git --git-dir="$REF_GIT_DIR" rev-parse "$REF_BRANCH")
else
  echo "warning: no reference package ($REF_GIT_DIR not found): the GPU run will time plain PyTorch only" >&2
  ref_commit=none
fi
if [ -d "$BENCH_DIR" ]; then
  mkdir -p "$OUT/bench" && cp "$BENCH_DIR"/*.py "$OUT/bench/"
fi

total=$(du -sb "$OUT" | cut -f1)
{
  echo "commit: $(git rev-parse HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%FT%TZ) with $($GO version), $(ldd --version | head -1)"
  echo "needs: x86-64 Linux with ${glibc:-GLIBC (unknown version)} or newer (dynamically linked libc)"
  echo "reference: $REF_BRANCH $ref_commit"
  echo "test packages: $TEST_PKGS"
  echo "binaries: $((raw / 1048576)) MiB raw, compressed:"
  (cd "$OUT/bin" && du -b ./*.gz)
  echo "bundle: $((total / 1048576)) MiB ($total bytes)"
} > "$OUT/MANIFEST"
cat "$OUT/MANIFEST"
if [ "$total" -gt $((MAX_BUNDLE_MB * 1048576)) ]; then
  echo "error: the bundle is $((total / 1048576)) MiB, above MAX_BUNDLE_MB=$MAX_BUNDLE_MB" >&2
  exit 1
fi
echo "ready: carry out/gpu and run  bash scripts/gpu-run.sh  on the GPU machine"
