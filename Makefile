# zeroweight-proxy: `make run` starts it locally, `make test` runs every test.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= /usr/bin/python3
BIN_DIR := .build/release
# Static Swift runtime, so the binaries copy to a server without a toolchain.
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -warnings-as-errors

.PHONY: all deps build run test unit-test e2e-test lint format clean

all: build

deps:
	deploy/local/install-deps

build: deps
	$(SWIFT) build $(RELEASE_FLAGS)

run: build
	$(PYTHON) deploy/local/run.py

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests

unit-test: deps
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors
	$(SWIFT) test --skip-build

e2e-test: build
	BIN_DIR=$(CURDIR)/$(BIN_DIR) $(PYTHON) -m pytest -q -p no:cacheprovider Tests/EndToEnd

test: lint unit-test e2e-test

clean:
	rm -rf .build
