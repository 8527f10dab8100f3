#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ with clang in their own build directory:
# the library with -fsanitize=fuzzer-no-link,address,undefined, the harnesses with
# -fsanitize=fuzzer,address,undefined, static library, no tests/examples/benchmarks.
#   FUZZ_BUILD   build directory (default build-fuzz)
#   JOBS         parallel compile jobs (default nproc)
#   --seeds      afterwards, regenerate the generated seed corpora in tests/fuzz/corpus/ (all but email/)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${JOBS:-$(nproc)}

./third_party/install-deps.sh --fuzz

# -O1 -g without NDEBUG: asserts stay on, stacks stay readable, coverage stays precise.
CC=clang CXX=clang++ cmake -S . -B "$FUZZ_BUILD" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTAPEGRAD_FUZZ=ON -DBUILD_SHARED_LIBS=OFF \
  -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_BENCH=OFF
cmake --build "$FUZZ_BUILD" -j "$JOBS" --target fuzz_idx fuzz_npz fuzz_npz_members fuzz_explain fuzz_email fuzz_csv fuzz_make_seeds

if [[ "${1:-}" == "--seeds" ]]; then
  # only the generated corpora: corpus/email/ and corpus/csv/ are hand-written (not made by fuzz_make_seeds)
  rm -rf tests/fuzz/corpus/{idx,npz,npz_members,explain}
  "$FUZZ_BUILD/tests/fuzz/fuzz_make_seeds" tests/fuzz/corpus
fi
