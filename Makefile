# Tracer — top-level entry points. See README.md.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: setup test demo

setup:
	bash .ci/setup

test: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

demo: setup
	@echo "demo: not yet"
