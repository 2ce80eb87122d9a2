# Thin wrapper over CMake. The targets install missing Debian packages first
# (scripts/install-deps.sh), then configure, build and run.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test asan tsan bench fuzz-smoke docs clean

all: build

deps:
	@scripts/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -DEMBER_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The whole suite under AddressSanitizer + UBSan, built with clang.
asan:
	@scripts/install-deps.sh build asan
	cmake -S . -B $(ASAN_BUILD) -DEMBER_WERROR=ON -DEMBER_SANITIZE=ON \
	      -DCMAKE_C_COMPILER=clang -DEMBER_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j$(JOBS)

# The threaded suites (ctest label tsan) under ThreadSanitizer, built with
# clang: only their targets are built.
TSAN_BUILD ?= build-tsan
tsan:
	@scripts/install-deps.sh build asan
	cmake -S . -B $(TSAN_BUILD) -DEMBER_WERROR=ON -DEMBER_TSAN=ON \
	      -DCMAKE_C_COMPILER=clang -DEMBER_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target \
	      $$(sed -n '/^set(EMBER_TSAN_TESTS/,/)/p' tests/CMakeLists.txt | tr -d '()' | \
	         sed 's/set//; s/EMBER_TSAN_TESTS//')
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    ctest --output-on-failure -j$(JOBS) -L tsan

bench:
	@scripts/install-deps.sh build bench
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build build-bench -j$(JOBS)
	@bash bench/run.sh build-bench

# The API reference (Doxygen, docs/Doxyfile) in build-docs/html; fails on
# any warning, e.g. an undocumented public symbol.
docs:
	@scripts/install-deps.sh docs
	@scripts/docs.sh build-docs

# A short AFL++ run of every fuzz harness (fuzz/<name>/harness.c).
fuzz-smoke:
	@scripts/install-deps.sh build fuzz
	@bash fuzz/smoke.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-bench build-fuzz build-docs
