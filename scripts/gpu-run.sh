#!/usr/bin/env bash
# gpu-run.sh — the GPU run, on the machine with the GPU, from the repository root, after
# scripts/gpu-bundle.sh (make gpu-check) built out/gpu here and out/gpu travelled with the working tree:
#
#   bash scripts/gpu-run.sh                 # results under $OUT (default out/gpu-results)
#   bash scripts/gpu-run.sh --dry-run       # only find the plugin and print the steps
#
# It needs python3 with JAX's CUDA PJRT plugin (xla_cuda_plugin.so in the package jax_plugins) and
# PyTorch; no Go toolchain, no internet. Steps, each with its own timeout (in all < 8 minutes):
#   1. expose xla_cuda_plugin.so as pjrt_c_api_cuda_plugin.so in a temporary folder on
#      PJRT_PLUGIN_LIBRARY_PATH (with JAX's nvidia/ libraries next to it, as go-xla expects);
#   2. biocheck: every mechanism on xla:cuda against the Go backend, then step times (biocheck.json);
#   3. the library's test binaries with GOMLX_BACKEND=xla:cuda (test-*.log, counts in summary.txt);
#   4. PyTorch on the same GPU: plain and with the reference package (torch.jsonl).
#
# Environment: OUT, BUNDLE (out/gpu), BACKEND (xla:cuda; "go" checks this script's logic on any machine),
# PLUGIN (path to xla_cuda_plugin.so, skips the search), PYTHON (python3), BIOCHECK_ARGS, TORCH_ARGS (extra flags),
# T_CHECK, T_TEST, T_TORCH (per-step limits, seconds), DEADLINE (460: all steps end by then).
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
OUT=${OUT:-out/gpu-results}
BUNDLE=${BUNDLE:-out/gpu}
BACKEND=${BACKEND:-xla:cuda}
PYTHON=${PYTHON:-python3}
T_CHECK=${T_CHECK:-170} T_TEST=${T_TEST:-45} T_TORCH=${T_TORCH:-100}
# DEADLINE: seconds from the start within which every step must end (each step's limit is cut to fit).
DEADLINE=${DEADLINE:-460}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
log() { echo "$*" | tee -a "$SUMMARY"; }
START=$(date +%s)

# find_plugin prints the path of JAX's CUDA PJRT plugin.
find_plugin() {
  if [ -n "${PLUGIN:-}" ]; then echo "$PLUGIN"; return; fi
  "$PYTHON" - <<'PY' 2>/dev/null && return
import os, pkgutil, jax_plugins
for m in pkgutil.iter_modules(jax_plugins.__path__):
    for d in jax_plugins.__path__:
        p = os.path.join(d, m.name, "xla_cuda_plugin.so")
        if os.path.exists(p):
            print(p); raise SystemExit(0)
raise SystemExit(1)
PY
  for sp in $("$PYTHON" -c 'import site; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
    [ -d "$sp" ] && find "$sp" -name xla_cuda_plugin.so -print -quit 2>/dev/null
  done | head -1
}

# setup_plugin links the plugin and JAX's nvidia/ libraries into $TMP and exports the variables.
setup_plugin() {
  local plugin=$1 site nvidia ptxas data_dir
  # The plugin finds CUDA's libraries through its RPATH ($ORIGIN/../nvidia or $ORIGIN/../../nvidia, JAX's
  # site-packages/nvidia), and go-xla looks for nvidia/ next to the plugin's folder. $ORIGIN may be the
  # folder of the link or of the file it points to, so the link sits at the same depth as JAX's file, with
  # nvidia/ linked at both levels; LD_LIBRARY_PATH lists the libraries too.
  local dir="$TMP/site/jax_plugins/pjrt"
  mkdir -p "$dir"
  ln -sf "$(readlink -f "$plugin")" "$dir/pjrt_c_api_cuda_plugin.so"
  export PJRT_PLUGIN_LIBRARY_PATH="$dir"
  site=$(dirname "$(dirname "$(dirname "$(readlink -f "$plugin")")")")
  nvidia="$site/nvidia"
  if [ -d "$nvidia" ]; then
    ln -sfn "$nvidia" "$TMP/site/nvidia"
    ln -sfn "$nvidia" "$TMP/site/jax_plugins/nvidia"
    LD_LIBRARY_PATH="$(find "$nvidia" -maxdepth 3 -type d -name lib | tr '\n' ':')${LD_LIBRARY_PATH:-}"
    export LD_LIBRARY_PATH
    ptxas=$(find "$nvidia" -name ptxas -type f 2>/dev/null | head -1)
  fi
  # go-xla v0.1.4 sets --xla_gpu_cuda_data_dir to a fixed path of its author's machine unless XLA_FLAGS
  # already names one: name the folder that holds JAX's ptxas (bin/ptxas) ourselves.
  if [[ "${XLA_FLAGS:-}" != *xla_gpu_cuda_data_dir* ]]; then
    data_dir=${ptxas:+$(dirname "$(dirname "$ptxas")")}
    export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_gpu_cuda_data_dir=${data_dir:-$nvidia}"
  fi
  log "plugin: $plugin -> $dir/pjrt_c_api_cuda_plugin.so"
  log "nvidia: ${nvidia:-none} (ptxas: ${ptxas:-not found}); XLA_FLAGS=$XLA_FLAGS"
}

# step NAME SECONDS CMD... runs one step with a timeout, logs its status and duration.
step() {
  local name=$1 secs=$2; shift 2
  local left=$(( DEADLINE - ($(date +%s) - START) - 3 ))
  [ "$secs" -gt "$left" ] && secs=$left
  if [ "$secs" -lt 5 ]; then log "$name: SKIPPED (the ${DEADLINE}s deadline is near)"; return 1; fi
  if [ $DRY = 1 ]; then log "[dry-run] $name (timeout ${secs}s): $*"; return 0; fi
  local t0=$(date +%s) rc
  timeout -k 5 "$secs" "$@" > "$OUT/$name.log" 2>&1; rc=$?
  local status="rc=$rc"; [ $rc = 124 ] && status="TIMED OUT after ${secs}s"
  log "$name: $status ($(( $(date +%s) - t0 ))s)"
  return $rc
}

TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
log "gpu-run: $(date -u +%FT%TZ) backend $BACKEND bundle $BUNDLE out $OUT"
[ -f "$BUNDLE/MANIFEST" ] || { log "error: no bundle at $BUNDLE (run make gpu-check where Go is)"; exit 2; }
cat "$BUNDLE/MANIFEST" >> "$SUMMARY"
log "here: $(uname -m), $(ldd --version 2>&1 | head -1)"
command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 | tee -a "$SUMMARY"
if [[ $BACKEND == xla:cuda* ]]; then
  plugin=$(find_plugin)
  [ -n "$plugin" ] && [ -e "$plugin" ] || { log "error: xla_cuda_plugin.so not found (set PLUGIN=/path/to/xla_cuda_plugin.so)"; exit 2; }
  setup_plugin "$plugin"
fi
export GOMLX_BACKEND=$BACKEND
mkdir -p "$TMP/bin"
for f in "$BUNDLE"/bin/*.gz; do gzip -dc "$f" > "$TMP/bin/$(basename "$f" .gz)"; chmod +x "$TMP/bin/$(basename "$f" .gz)"; done

step biocheck "$T_CHECK" "$TMP/bin/biocheck" -backend "$BACKEND" -out "$OUT/biocheck.json" ${BIOCHECK_ARGS:-}
tail -25 "$OUT/biocheck.log" 2>/dev/null | sed 's/^/  /' >> "$SUMMARY"
for t in "$TMP"/bin/*.test; do
  name=$(basename "$t" .test); dir=$(echo "$name" | tr _ /)
  step "test-$name" "$T_TEST" bash -c "cd '$dir' && exec '$t' -test.v"
  [ $DRY = 0 ] && [ -f "$OUT/test-$name.log" ] && log "  $name: $(grep -c -- '^--- PASS' "$OUT/test-$name.log") passed, $(grep -c -- '^--- FAIL' "$OUT/test-$name.log") failed, $(grep -c -- '^--- SKIP' "$OUT/test-$name.log") skipped"
done
step torch "$T_TORCH" env PYTHONPATH="$(cd "$BUNDLE" && pwd)/ref${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" scripts/gpu_torch_bench.py --out "$OUT/torch.jsonl" ${TORCH_ARGS:-}
log "gpu-run: done in $(( $(date +%s) - START ))s; results in $OUT"
