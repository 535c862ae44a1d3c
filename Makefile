# The README's commands. Everything else is plain CMake + Ninja + CTest.
#   make demo   install deps, build, run kube-sim + MariaDB/PostgreSQL/Redis + berth + HAProxy until Ctrl-C
#   make test   install deps, build, run every test, then again under ASan+UBSan
#   make bench  run the benchmarks (JSON lines on stdout and in build/bench-results.json)
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build build-asan test test-plain test-asan bench demo clean

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

demo: build
	scripts/demo --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
