# spp-hookd — see README.md. `make run` and `make test` are the quick start.
SWIFT ?= swift
PREFIX ?= /usr/local
SYSTEM_PACKAGES := libssl-dev libsystemd-dev libjq-dev libpq-dev libcurl4-openssl-dev pkg-config
TEST_PACKAGES := openssl systemd python3 slowhttptest curl util-linux fuse3 postgresql-15 tinyproxy nginx
DEB_PACKAGES := dpkg-dev binutils lintian
BENCH_PACKAGES := wrk nginx-light webhook postgresql-15
# The installed binary carries the Swift runtime (static standard library): it runs on a
# machine without the toolchain, and the package depends only on Debian's libraries. Its own
# build folder, so the man page plugin's release build (.build/release) does not replace it.
RELEASE_FLAGS := -c release --product spp-hookd --static-swift-stdlib --scratch-path .build-static -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now
RELEASE_BIN := .build-static/release/spp-hookd

.PHONY: all deps install-packages build release man run test check-size fuzz bench bench-scale install deb systemd-test crash-test clean

all: build

# Installs the system packages the build needs, when they are missing (Debian/Ubuntu).
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(SYSTEM_PACKAGES)"

install-packages:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

# The man page, from the command line's own help.
man: deps
	mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-directory .build/man generate-manual --output-directory .build/man

# Runs the daemon on config.example.json (loopback: 127.0.0.1:8080, admin on 127.0.0.1:9101).
run: deps
	$(SWIFT) run spp-hookd serve --config config.example.json

# The whole test suite (unit, end-to-end against the real binary, crash safety).
# Tests also use openssl (a test CA), systemd's tools, python3 (a webhook receiver, a fake
# SPP API) and prometheus_client (the reference parser for /metrics; from PyPI, else Debian).
test: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(TEST_PACKAGES)"
	@python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client 2>/dev/null \
		|| $(MAKE) --no-print-directory install-packages PACKAGES=python3-prometheus-client
	@python3 -c 'import mfusepy' 2>/dev/null || python3 -m pip install -q mfusepy 2>/dev/null || echo "no mfusepy: the power-cut tests will be skipped"
	@$(MAKE) --no-print-directory check-size
	@$(MAKE) --no-print-directory deb
	$(SWIFT) build --build-tests
	$(SWIFT) test
	@$(MAKE) --no-print-directory fuzz

# libFuzzer (with AddressSanitizer) on the HTTP request parser and the JSON/body parsers,
# for FUZZ_SECONDS from the committed corpus in Tests/Fuzz/corpus; a crash fails the run.
FUZZ_SECONDS ?= 60
# The size rules of the production code: files, functions, unexplained force unwraps.
check-size:
	python3 scripts/check-size.py Sources

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# nginx `return 204`, adnanh/webhook and spp-hookd under the same wrk load, side by side, then
# the sinks' throughput; the figures go to docs/benchmark-results.md.
bench: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build -c release
	bash scripts/bench.sh
	bash scripts/bench-sinks.sh
	bash scripts/bench-results.sh

# Start-up, memory and reading with a large log (BENCH_SCALE_EVENTS events in the dedup
# window, about 2 KiB each), on the installed build (static standard library).
BENCH_SCALE_EVENTS ?= 1000000
bench-scale: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build $(RELEASE_FLAGS)
	python3 scripts/bench-scale.py --bin $(RELEASE_BIN) --out bench-out/scale --events $(BENCH_SCALE_EVENTS) | tee bench-out/scale.txt
	{ echo "# Scale benchmark results"; echo; echo "Written by \`make bench-scale\` on $$(date -u +%Y-%m-%dT%H:%MZ), commit $$(git rev-parse --short HEAD), $$(nproc) cores; do not edit by hand. How to read it: [benchmarks.md](benchmarks.md)."; \
	  echo; echo '```'; cat bench-out/scale.txt; echo '```'; } > docs/benchmark-scale.md

# Binary, systemd units, /etc/spp-hookd/config.json (kept if present), docs. PREFIX, DESTDIR.
install: man release
	MANPAGE=.build/man/spp-hookd.1 PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) bash scripts/install.sh $(RELEASE_BIN)

# The Debian package spp-hookd_<version>_<arch>.deb in this folder, checked by lintian.
deb: man release
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"
	rm -f spp-hookd_*.deb
	bash scripts/make-deb.sh $(RELEASE_BIN) .build/man/spp-hookd.1 .
	lintian --fail-on error spp-hookd_*.deb

# Many power cuts (CUTS, default 500, over several seeds), plain and with EIO on fsyncs,
# on powerfs (FUSE); make test runs 80 of them.
CUTS ?= 500
crash-test: build
	@$(MAKE) --no-print-directory install-packages PACKAGES="python3 fuse3"
	@python3 -c 'import mfusepy' 2>/dev/null || python3 -m pip install -q mfusepy
	python3 Tests/SPPHookdTests/Fixtures/powercut.py --binary .build/debug/spp-hookd --cuts $$(( $(CUTS) * 7 / 10 )) --seed 101
	python3 Tests/SPPHookdTests/Fixtures/powercut.py --binary .build/debug/spp-hookd --cuts $$(( $(CUTS) * 3 / 10 )) --seed 202 --eio 0.05

# Only the real-systemd tests (they also run in make test).
systemd-test: deb
	$(SWIFT) build --build-tests
	$(SWIFT) test --filter RealSystemd

clean:
	rm -rf .build .build-fuzz .build-static spp-data bench-out spp-hookd_*.deb
