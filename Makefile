# The front door: `make demo` and `make test` on a fresh Debian 12 machine.
BUILD ?= build
MESON_OPTS ?=

.PHONY: all setup build test test-asan test-tsan fuzz demo bench clean

all: build

setup:
	@./scripts/setup-deps.sh >/dev/null

$(BUILD)/build.ninja:
	@./scripts/setup-deps.sh >/dev/null
	meson setup $(BUILD) -Ddpdk_sdk=$(CURDIR)/.cache/dpdk $(MESON_OPTS)

build: setup $(BUILD)/build.ninja
	@ninja -C $(BUILD)

test: build
	@./scripts/run-tests.sh $(BUILD)

# The unit suites under AddressSanitizer + UBSan (build-asan/) and ThreadSanitizer (build-tsan/).
test-asan: setup
	@./scripts/run-sanitized.sh asan

test-tsan: setup
	@./scripts/run-sanitized.sh tsan

# libFuzzer runs of tests/fuzz (clang, build-fuzz/), FUZZ_SECONDS per target (default 600). Not a test.
fuzz: setup
	@./scripts/fuzz.sh

demo: build
	@./scripts/demo.sh $(BUILD)

bench: build
	@./scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
