#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test through ctest.
# Extra arguments go to ctest (e.g. tests/run.sh -L golden).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CEP_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
