# The front door: `make demo` and `make test` on a fresh Debian 12 machine.
BUILD ?= build
MESON_OPTS ?=

.PHONY: all setup build test demo bench clean

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

demo: build
	@./scripts/demo.sh $(BUILD)

bench: build
	@./scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
