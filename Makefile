# spp-hookd — see README.md. `make run` and `make test` are the quick start.
SWIFT ?= swift
PREFIX ?= /usr/local
SYSTEM_PACKAGES := libssl-dev libsystemd-dev pkg-config
TEST_PACKAGES := openssl systemd python3 slowhttptest
BENCH_PACKAGES := wrk nginx-light webhook

.PHONY: all deps install-packages build release run test fuzz bench install clean

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
	$(SWIFT) build -c release

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
	$(SWIFT) build --build-tests
	$(SWIFT) test
	@$(MAKE) --no-print-directory fuzz

# libFuzzer (with AddressSanitizer) on the HTTP request parser and the JSON/body parsers,
# for FUZZ_SECONDS from the committed corpus in Tests/Fuzz/corpus; a crash fails the run.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# nginx `return 204`, adnanh/webhook and spp-hookd under the same wrk load, side by side.
bench: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build -c release
	bash scripts/bench.sh
	bash scripts/bench-sinks.sh

# Binary, systemd units, /etc/spp-hookd/config.json (kept if present), docs. PREFIX, DESTDIR.
install: release
	mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-directory .build/man generate-manual --output-directory .build/man
	MANPAGE=.build/man/spp-hookd.1 PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) bash scripts/install.sh .build/release/spp-hookd

clean:
	rm -rf .build .build-fuzz spp-data bench-out
