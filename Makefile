# zeroweight-proxy: `make run` starts it locally, `make test` runs every test.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= /usr/bin/python3
BIN_DIR ?= .build/release
# Static Swift runtime, so the binaries copy to a server without a toolchain. libstdc++ static too:
# a CGI run then neither loads nor relocates libstdc++.so (4,309 symbol relocations, about 7 % of
# its instructions). The Swift driver asks for -lstdc++ itself, so a linker script of that name,
# first on the -L path, points it at the archive; without the archive the folder stays empty and
# the link is the usual dynamic one. The libraries with security updates (libcurl, libssl, SQLite,
# hiredis, libfcgi) stay shared.
STATIC_CXX := $(CURDIR)/.build/static-libstdc++
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -warnings-as-errors -Xlinker -L$(STATIC_CXX)

# make install: PREFIX for the programs, SYSCONFDIR for the config, UNITDIR for systemd units;
# DESTDIR stages the whole tree elsewhere (packaging).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= /etc/systemd/system
DESTDIR ?=
CONFDIR := $(SYSCONFDIR)/zeroweight-proxy
SHAREDIR := $(PREFIX)/share/zeroweight-proxy
RENDER := sed -e 's|/usr/local|$(PREFIX)|g' -e 's|/etc/zeroweight-proxy|$(CONFDIR)|g'

.PHONY: all deps build run test unit-test e2e-test lint format clean install install-files fuzz fuzz-short bench sanitize

all: build

deps:
	deploy/local/install-deps

build: deps $(STATIC_CXX)/libstdc++.so
	$(SWIFT) build $(RELEASE_FLAGS)

$(STATIC_CXX)/libstdc++.so:
	mkdir -p $(STATIC_CXX)
	archive=$$(g++ -print-file-name=libstdc++.a 2>/dev/null); \
	if [[ $$archive == /* && -f $$archive ]]; then echo "INPUT($$archive)" > $@; fi

run: build
	$(PYTHON) deploy/local/run.py

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Fuzz

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests Fuzz

unit-test: deps
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors
	$(SWIFT) test --skip-build

e2e-test: build
	BIN_DIR=$(CURDIR)/$(BIN_DIR) $(PYTHON) -m pytest -q -p no:cacheprovider Tests/EndToEnd

test: lint unit-test sanitize fuzz-short e2e-test

# ThreadSanitizer and AddressSanitizer (with LeakSanitizer) over the unit tests, each in its own
# build folder; a report fails the make. Tests/Sanitizers/lsan.supp lists the toolchain's own leaks.
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build/tsan
	TSAN_OPTIONS=halt_on_error=1 $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build/tsan
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build/asan
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp \
		$(SWIFT) test --skip-build --sanitize=address --scratch-path .build/asan

# libFuzzer (with AddressSanitizer) on every parser of untrusted input; see Fuzz/run and README, Fuzzing.
# Each target runs FUZZ_SECONDS (fuzz) or FUZZ_SHORT_SECONDS (fuzz-short: about 2-3 minutes in all,
# build included), FUZZ_JOBS at a time; a crash or broken invariant fails the make.
FUZZ_SECONDS ?= 300
FUZZ_SHORT_SECONDS ?= 12
FUZZ_JOBS ?= $(shell nproc)

fuzz: deps
	Fuzz/run --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS)

fuzz-short: deps
	Fuzz/run --seconds $(FUZZ_SHORT_SECONDS) --jobs $(FUZZ_JOBS)

# Not a test: a benchmark against nginx's own proxy_pass (see bench/bench.py); BENCH_QUICK=1 is short.
bench: build
	BIN_DIR=$(abspath $(BIN_DIR)) $(PYTHON) bench/bench.py

install: build install-files

# install without building (the binaries must exist): what `make install` does after `build`.
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SHAREDIR)/apache
	install -m 0755 $(BIN_DIR)/zw-bundle $(BIN_DIR)/zw-token $(DESTDIR)$(PREFIX)/bin/
	$(RENDER) deploy/spawn-fcgi/zeroweight-proxy-spawn > $(DESTDIR)$(PREFIX)/sbin/zeroweight-proxy-spawn
	chmod 0755 $(DESTDIR)$(PREFIX)/sbin/zeroweight-proxy-spawn
	for unit in zw-bundle.socket zw-bundle.service zw-token.socket zw-token.service; do \
		$(RENDER) deploy/systemd/$$unit > $(DESTDIR)$(UNITDIR)/$$unit && chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit; done
	for conf in deploy/apache/*.conf; do \
		$(RENDER) $$conf > $(DESTDIR)$(SHAREDIR)/apache/$$(basename $$conf); done
	$(RENDER) nginx.conf.example > $(DESTDIR)$(SHAREDIR)/nginx.conf.example
	install -m 0644 README.md $(DESTDIR)$(SHAREDIR)/README.md
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	@# Never overwrite an operator's config or key.
	if [ ! -e $(DESTDIR)$(CONFDIR)/zeroweight-proxy.conf ]; then \
		$(RENDER) deploy/config/zeroweight-proxy.conf > $(DESTDIR)$(CONFDIR)/zeroweight-proxy.conf; \
		chmod 0644 $(DESTDIR)$(CONFDIR)/zeroweight-proxy.conf; \
	else echo "kept the existing $(DESTDIR)$(CONFDIR)/zeroweight-proxy.conf"; fi
	@if [ ! -e $(DESTDIR)$(CONFDIR)/api-key ]; then \
		echo "next: put the API key in $(CONFDIR)/api-key (chmod 0640, group www-data), see README"; fi

clean:
	rm -rf .build
