# The README's commands. Everything else is plain CMake + Ninja + CTest.
#   make demo   install deps, build, run kube-sim + MariaDB/PostgreSQL/Redis + berth + HAProxy until Ctrl-C
#   make test   install deps, build, run every test, then again under ASan+UBSan, then the
#               threaded parts' tests under ThreadSanitizer, then a smoke of each fuzz target
#   make bench  run the benchmarks (JSON lines on stdout and in build/bench-results.json)
#   make chaos  the full chaos run: 1,000 Services churned under faults and kills (JSON summary)
#   make fuzz   build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# `make test`'s smoke of each fuzz target: its seeds and a few seconds of new inputs, from a
# Debug (-O0) tree of its own: for 5 s a target compile time is what counts (measured: 82 s
# against 137 s for the optimised tree `make fuzz` uses, on 2 cores).
FUZZ_SMOKE_BUILD ?= build-fuzz-smoke
FUZZ_SMOKE_SECONDS ?= 5
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build build-asan build-tsan build-fuzz test test-plain test-asan test-tsan test-fuzz fuzz bench chaos demo clean

all: build

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# After a failing ctest run: the chaos run's verdict, last in the log (ctest printed its output
# where the test ended, far above).
CHAOS_FAILURES := $(CURDIR)/scripts/chaos-failures

# Builds only what ctest runs (the `tests` target: not the benchmarks, which `make bench` builds).
test-plain: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS) --target tests
	rm -f $(BUILD)/chaos-short.json
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) || { $(CHAOS_FAILURES) $(abspath $(BUILD))/chaos-short.json; exit 1; }

# Left out of the ASan run, for CI's time: the tests of scale and of HAProxy over many reloads.
# Each repeats, many times over, berth code that the smaller tests run under ASan too (paging,
# a reload, a held session); together they took ≈140 s of the ASan tree's ≈400 s. The plain
# tree runs them.
ASAN_SKIP := ListsTenThousandServicesInPagesIntoTheStore|HeldSessionsKeepTheirServerSideIdOverThirtyReloads|HeldSessionsSurviveFiftyReloadsAndNewConnectionsNeverFail
test-asan: build-asan
	rm -f $(ASAN_BUILD)/chaos-short.json
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -E '$(ASAN_SKIP)' \
	  || { $(CHAOS_FAILURES) $(abspath $(ASAN_BUILD))/chaos-short.json; exit 1; }

# ThreadSanitizer: only the tests of the threaded parts are built (test/tsan.cmake says which).
build-tsan: deps
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DBERTH_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS)

# halt_on_error: the first report fails the test (and a spawned berth or kube-sim exits 66).
# ignore_noninstrumented_modules: the memcpy/memcmp that Debian's uninstrumented libraries call
# are not checked (their synchronisation still is). Without it, cpp-httplib's function-local
# `static const std::set<std::string>` of request methods is reported whenever two server
# threads parse their first requests together: TSan sees the static's construction but not the
# guard's inlined acquire on the other thread. berth's and kube-sim's own code stays fully
# checked, request handlers included, which a `race:libcpp-httplib.so` suppression would hide.
# log_path: reports go to files, so one from a berth or kube-sim that a test spawned (and may
# have killed, or whose exit it does not check) fails the run too; they are printed at the end.
TSAN_OPTIONS_CI := halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1
TSAN_REPORTS := $(abspath $(TSAN_BUILD))/tsan-reports
test-tsan: build-tsan
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS=$(TSAN_OPTIONS_CI):log_path=$(TSAN_REPORTS)/tsan \
	  ctest --output-on-failure -j $(JOBS); status=$$?; \
	  if ls $(TSAN_REPORTS)/tsan.* >/dev/null 2>&1; then cat $(TSAN_REPORTS)/tsan.*; status=1; fi; \
	  exit $$status

# The fuzz tree builds only test/fuzz/ and the libraries it links (docs/development.md).
FUZZ_BUILD_TYPE ?= RelWithDebInfo
build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DBERTH_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_BUILD_TYPE=$(FUZZ_BUILD_TYPE)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

test-fuzz:
	$(MAKE) build-fuzz FUZZ_BUILD=$(FUZZ_SMOKE_BUILD) FUZZ_BUILD_TYPE=Debug
	scripts/run-fuzzers $(FUZZ_SMOKE_BUILD) $(FUZZ_SMOKE_SECONDS)

fuzz: build-fuzz
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

test: test-plain test-asan test-tsan test-fuzz

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SMOKE_BUILD)
