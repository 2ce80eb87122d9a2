# Thin wrapper over CMake. The targets install missing Debian packages first
# (scripts/install-deps.sh), then configure, build and run.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test asan bench fuzz-smoke clean

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
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j$(JOBS)

bench:
	@scripts/install-deps.sh build bench
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build build-bench -j$(JOBS)
	@bash bench/run.sh build-bench

# A short AFL++ run of every fuzz harness (fuzz/<name>/harness.c).
fuzz-smoke:
	@scripts/install-deps.sh build fuzz
	@bash fuzz/smoke.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-bench build-fuzz
