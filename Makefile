# The README's commands. Everything else is plain CMake + Ninja + CTest.
#   make demo   install deps, build, run kube-sim + MariaDB/PostgreSQL/Redis + berth + HAProxy until Ctrl-C
#   make test   install deps, build, run every test, then again under ASan+UBSan
#   make bench  run the benchmarks (JSON lines on stdout and in build/bench-results.json)
#   make chaos  the full chaos run: 1,000 Services churned under faults and kills (JSON summary)
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build build-asan test test-plain test-asan bench chaos demo clean

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

test: test-plain test-asan

bench: build
	scripts/run-bench $(BUILD)

# The full chaos run (docs/robustness.md); ctest runs a 100-Service one. Bounded: no round starts
# after the budget, and each checkpoint waits at most --converge-seconds.
CHAOS_ARGS ?= --services 1000 --rounds 20 --quiet-rounds 5 --operations-per-round 400 \
              --first-port 22000 --last-port 25999 --budget-seconds 1200 --converge-seconds 300
chaos: build
	$(BUILD)/test/berth-chaos $(CHAOS_ARGS) --json $(BUILD)/chaos-results.json

demo: build
	scripts/demo --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
