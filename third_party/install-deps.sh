#!/usr/bin/env bash
# Installs every Debian package that tapegrad's build, tests and examples need.
# Non-interactive and idempotent; run as root (or with sudo available) on Debian 12.
#   --bench   also install benchmark-only peers (libtorch-dev)
#   --tools   also install what tools/ needs to regenerate fixtures (python3-torch, python3-numpy)
#   --fuzz    also install clang and its libFuzzer/sanitizer runtimes (make fuzz-smoke)
set -euo pipefail

packages=(
  build-essential cmake pkg-config          # toolchain
  libxtensor-dev xtl-dev libxsimd-dev       # tensors (header-only)
  libxtensor-blas-dev libopenblas-dev       # BLAS bindings + OpenBLAS
  catch2                                    # unit tests
  zlib1g-dev                                # gzip (IDX .gz files)
  libzip-dev                                # .npz checkpoints (zip container)
  libcli11-dev                              # example command lines
  nlohmann-json3-dev                        # explainer JSON input/output
  libgraphviz-dev                           # viz::render_svg (Graphviz's layout library)
  libopenmpi-dev openmpi-bin                # distributed:: (data-parallel training), mpirun for the 2-rank tests
  chromium                                  # test: the explainers' HTML pages open in a real browser
  python3-numpy                             # test: numpy.load opens our checkpoints
  dataset-fashion-mnist                     # the demo's data
)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(libtorch-dev) ;;
    --tools) packages+=(python3-torch python3-numpy) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps.sh: unknown option '$arg' (expected --bench, --tools or --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
