#!/usr/bin/env bash
# Set up climb-harness and every first-party plugin in ./.venv (idempotent; ~1-2 minutes on a fresh machine).
# torch is installed first and pinned to the CPU build that these machines keep on disk
# (a plain `pip install torch` on a machine without it may pull a multi-GB CUDA build; set CLIMB_TORCH_SPEC
# to choose another, e.g. a CUDA build on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${CLIMB_TORCH_SPEC:-torch==2.13.0}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
.venv/bin/python -c "import torch" 2>/dev/null || pip_install "$TORCH_SPEC"
pip_install "setuptools>=68" "hatchling>=1.20" editables wheel
plugins=()
for p in plugins/*/; do plugins+=(-e "$p"); done
pip_install --no-build-isolation -e ".[test]" "${plugins[@]}"
# Phase II's offline tasks read real data from Debian packages: fashion-mnist (dataset-fashion-mnist)
# and wordnet-supersense (wordnet-base). Best effort: without them those tasks say which package to
# install, and the tests that read the real files skip.
debs=()
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || debs+=(dataset-fashion-mnist)
[ -e /usr/share/wordnet/data.noun ] || debs+=(wordnet-base)
if [ ${#debs[@]} -gt 0 ] && [ "${CLIMB_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${debs[@]}" >/dev/null 2>&1; }
  apt_install || { apt-get update -q >/dev/null 2>&1 && apt_install; } \
    || echo "note: could not install ${debs[*]} with apt-get; Phase II's fashion-mnist / wordnet-supersense tasks need them" >&2
fi
echo "climb-harness is set up in .venv ($(.venv/bin/climb --version))"
