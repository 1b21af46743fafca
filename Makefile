# Tracer — top-level entry points. See README.md.
#   make demo    set-up + the download walk-through (root: captures with eBPF)
#   make test    set-up + every test
#   make bench   every overhead figure, as ratios against baselines in the same run
SHELL := /bin/bash
CARGO ?= cargo
PREFIX ?= /usr/local

.PHONY: setup test test-rust test-python test-c test-demo demo bench bench-emitters \
        bench-python bench-c bench-probe bench-engine bench-scap install-c lint

setup:
	bash .ci/setup

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

test: setup lint test-rust test-python test-c test-demo
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) test --workspace

test-python:
	bash bindings/python/dev.sh test

test-c:
	$(MAKE) -C bindings/c test

test-demo:
	bash examples/api-server/test_demo.sh

demo: setup
	bash examples/api-server/demo.sh

bench: setup
	bash benches/run.sh

bench-emitters:
	$(CARGO) bench -p tracer-tag

bench-python:
	bash bindings/python/dev.sh bench

bench-c:
	$(MAKE) -C bindings/c bench

bench-probe:
	$(CARGO) bench -p tracer-probe

bench-engine:
	$(CARGO) bench -p tracer-core --bench engine
	$(CARGO) bench -p tracer-core --bench engine_synth

bench-scap:
	$(CARGO) bench -p tracer-scap --bench read

install-c:
	$(MAKE) -C bindings/c install PREFIX=$(PREFIX)
