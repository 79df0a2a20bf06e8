# Thin wrapper over CMake and the scripts. `make demo` and `make test` are the two commands
# the README promises; each installs what it needs and is safe to run again.
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
# Seconds each libFuzzer target runs: `make fuzz`, and the short pass in `make test`.
FUZZ_SECONDS ?= 120
FUZZ_SMOKE_SECONDS ?= 8
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# Let ccache share objects between clones at different paths (CI clones afresh each time).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps node-deps k8s configure build test unit e2e asan fuzz soak format check-format bench demo clean

all: build

deps:
	@scripts/install-deps.sh

node-deps: deps
	@scripts/install-node-deps.sh

# The local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager), kubectl,
# helm and the API fault proxy, built from Go modules and cached by version outside the clone;
# $(BUILD_DIR)/k8s-bin links to them. K8S_VERSION=v1.3x.y picks another release.
k8s:
	@mkdir -p $(BUILD_DIR)
	@e2e/k8s/build.sh --link $(BUILD_DIR)/k8s-bin >/dev/null

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: formatting, the unit and end-to-end suites, the benchmarks in smoke mode, and
# the unit suite again under ASan+UBSan.
test: check-format build node-deps k8s
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit
	@cd $(BUILD_DIR) && ctest --output-on-failure -j 2 -LE unit \
	  --resource-spec-file $(CURDIR)/e2e/k8s/stacks.json
	@SLUICE_BENCH_SMOKE=1 bench/run.sh $(BUILD_DIR) >$(BUILD_DIR)/bench-smoke.log 2>&1 || \
	  { cat $(BUILD_DIR)/bench-smoke.log; exit 1; }
	@echo "benchmarks (smoke mode): ok"
	@$(MAKE) --no-print-directory asan
	@scripts/fuzz.sh $(CURDIR)/$(FUZZ_BUILD_DIR) $(FUZZ_SMOKE_SECONDS)

unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

e2e: build node-deps k8s
	@cd $(BUILD_DIR) && ctest --output-on-failure -j 2 -L e2e \
	  --resource-spec-file $(CURDIR)/e2e/k8s/stacks.json

asan: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DSLUICE_SANITIZE=ON -DSLUICE_BUILD_BENCH=OFF \
	  -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/cmake/lsan.supp \
	  ctest --output-on-failure -j $(JOBS) -L unit

# The libFuzzer targets (clang), each for FUZZ_SECONDS from its committed corpus.
# Soak and scale on its own control plane (about 30 min; bench/soak/soak.py says what it measures).
soak: build k8s
	@bench/soak/soak.py $(CURDIR)/$(BUILD_DIR)

fuzz: deps
	@scripts/fuzz.sh $(CURDIR)/$(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

format:
	@git ls-files '*.cpp' '*.h' | xargs -r clang-format -i

check-format: deps
	@git ls-files '*.cpp' '*.h' | xargs -r clang-format --dry-run -Werror

bench: build
	@bench/run.sh $(BUILD_DIR)

demo: build node-deps k8s
	@e2e/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
