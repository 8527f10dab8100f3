# tapegrad — the two commands: `make demo` and `make test` (each installs what it needs first).
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test clean

all: build

# Debian packages for the build, the tests and the examples (idempotent; needs root or sudo).
deps:
	./third_party/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Trains the Fashion-MNIST classifier with the default settings and writes its curves, metrics
# and checkpoint next to the build.
demo: build
	./$(BUILD)/examples/train_fashion_mnist --plot $(BUILD)/fashion_mnist.svg \
	    --metrics $(BUILD)/fashion_mnist_metrics.jsonl --save $(BUILD)/fashion_mnist.npz

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
