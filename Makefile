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

run: release
	@build/release/sipeer || true

clean:
	rm -rf build
