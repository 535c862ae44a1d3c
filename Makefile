# The README's commands. Everything else is plain CMake + Ninja + CTest.
#   make demo   install deps, build, run kube-sim + MariaDB/PostgreSQL/Redis + berth + HAProxy until Ctrl-C
#   make test   install deps, build, run every test, then again under ASan+UBSan, then a smoke of each fuzz target
#   make bench  run the benchmarks (JSON lines on stdout and in build/bench-results.json)
#   make fuzz   build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# `make test`'s smoke of each fuzz target: its seeds and a few seconds of new inputs. The fuzz
# build is ~285 CPU-seconds (2.4 minutes on 2 cores), so 6 targets x 5 s keeps it near 3 minutes.
FUZZ_SMOKE_SECONDS ?= 5
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build build-asan build-fuzz test test-plain test-asan test-fuzz fuzz bench demo clean

all: build

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The fuzz tree builds only test/fuzz/ and the libraries it links (docs/development.md).
build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DBERTH_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-19
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

test-fuzz: build-fuzz
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

fuzz: build-fuzz
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

test: test-plain test-asan test-fuzz

bench: build
	scripts/run-bench $(BUILD)

demo: build
	scripts/demo --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
