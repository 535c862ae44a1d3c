# The README's commands. Everything else is plain CMake + Ninja + CTest.
#   make demo   install deps, build, run kube-sim + MariaDB/PostgreSQL/Redis + berth + HAProxy until Ctrl-C
#   make test   install deps, build, run every test, then again under ASan+UBSan, then the
#               threaded parts' tests under ThreadSanitizer
#   make bench  run the benchmarks (JSON lines on stdout and in build/bench-results.json)
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build build-asan build-tsan test test-plain test-asan test-tsan bench demo clean

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

# ThreadSanitizer: only the tests of the threaded parts are built (test/tsan.cmake says which).
build-tsan: deps
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DBERTH_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS)

# halt_on_error: the first report fails the test (and a spawned berth or kube-sim exits 66).
# test/tsan.supp says why each suppression cannot be a fix.
test-tsan: build-tsan
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/test/tsan.supp \
	  ctest --output-on-failure -j $(JOBS)

test: test-plain test-asan test-tsan

bench: build
	scripts/run-bench $(BUILD)

demo: build
	scripts/demo --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
