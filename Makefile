# Makefile: the entry points of README.md, wrapping scripts/setup, CMake and CTest.
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20

.PHONY: all setup build release test fuzz fuzz-smoke bench run clean

all: build

setup:
	@scripts/setup

build: setup
	@cmake --preset debug >/dev/null
	@cmake --build build/debug -j $(JOBS)

release: setup
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

# Unit, corpus and command-line tests under ASan/UBSan, then a short fuzz run.
test: build
	@cd build/debug && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz-smoke

fuzz-smoke:
	@FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/fuzz

fuzz: setup
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

bench: release
	@bench/run

# The daemon in the foreground on examples/sipeer.yaml (Ctrl-C stops it gracefully).
run: release
	@echo "sipeer: SIP on 127.0.0.1:5060 (UDP and TCP), domain sipeer.test, users alice and bob"
	@echo "        (passwords alice-secret, bob-secret; examples/sipeer.yaml). Point a phone at it:"
	@echo "        registrar and proxy 127.0.0.1:5060, user alice, domain sipeer.test; or try"
	@echo "        sipsak -U -s sip:alice@127.0.0.1 -u alice -a alice-secret -C sip:alice@127.0.0.1:5077"
	@build/release/sipeer -c examples/sipeer.yaml

clean:
	rm -rf build
