# herd's build, test and benchmark entry points. `make test` is what CI
# runs (through .ci/run) and what README's second command runs.

GO ?= go
BIN := bin/herd

.PHONY: build test race deps unit conformance soak bench bench-cluster lint docs clean

# build builds herd and, beside it, herd-shim: the small program the
# sentry starts every process through (the herd binary serves when it
# is missing or older).
build:
	$(GO) build -o $(BIN) ./cmd/herd
	$(GO) build -o $(dir $(BIN))herd-shim ./cmd/herd-shim

# deps installs what the tests need on a fresh Debian machine.
deps:
	./.ci/deps

# test runs the whole suite: unit tests, then the differential
# conformance suites against the freshly built binary. One package at a
# time (-p 1): the suites compare timing-sensitive programs (shells, job
# control) natively and under herd, and the whole run takes minutes.
test: deps build
	$(GO) vet ./...
	HERD_BIN=$(CURDIR)/$(BIN) $(GO) test -p 1 -count=1 -timeout 40m ./...
	$(MAKE) race

# race runs the packages whose logic is concurrent and needs no tracee
# (process model, handlers against a fake task, launcher protocol, node
# fan-out, /proc reader, transport and streams) under the race detector.
race:
	$(GO) test -race -count=1 ./pidspace/ ./syscalls/ ./launch/ ./node/ ./procview/ ./remote/... ./ipc/ ./node/procfs/

unit:
	$(GO) test -count=1 ./pidspace/ ./raftstate/ ./remote/ ./sentry/ ./syscalls/ ./node/ ./launch/ ./procview/

# soak runs many short forking programs under `herd run` for 30 minutes
# and fails if a node outlives its launcher (the suite runs it for 15 s).
soak: build
	HERD_BIN=$(CURDIR)/$(BIN) HERD_SOAK=30m $(GO) test -count=1 -timeout 40m -run TestSoak ./conformance/

# bench measures herd against native in one run (conformance/bench), then
# the control plane (conformance/bench/cluster: forks/s with Raft-leased
# PIDs against a pre-filled pool, Raft apply latency, herd ps on 1-16
# nodes), and writes both tables to docs/benchmarks.md.
bench: build
	HERD_BIN=$(CURDIR)/$(BIN) $(GO) run ./conformance/bench -markdown bin/bench-node.md
	HERD_BIN=$(CURDIR)/$(BIN) $(GO) run ./conformance/bench/cluster -markdown bin/bench-cluster.md
	cat bin/bench-node.md bin/bench-cluster.md > docs/benchmarks.md

bench-cluster: build
	HERD_BIN=$(CURDIR)/$(BIN) $(GO) run ./conformance/bench/cluster -markdown -

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...

# docs regenerates docs/syscalls.md from the syscall table.
docs:
	$(GO) run ./cmd/herd syscalls --markdown > docs/syscalls.md

clean:
	rm -rf bin
