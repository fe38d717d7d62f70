#!/usr/bin/env bash
# Shared set-up for the README's two commands: installs the Debian packages the build and the
# tests need (when run as root, or through sudo), then configures and builds a Release build.
# Usage: source tests/setup.sh   (sets CEP_ROOT and CEP_BUILD)
set -euo pipefail

CEP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CEP_BUILD=${CEP_BUILD:-$CEP_ROOT/build}

cep_packages=(
  # build
  cmake make g++ pkg-config
  libsimdjson-dev libcli11-dev nlohmann-json3-dev librdkafka-dev libzstd-dev doctest-dev
  libre2-dev libyaml-cpp-dev libxxhash-dev
  # docs and tests
  scdoc zstd jq kcat sqlite3 miller bash-completion bc
)

cep_install_packages() {
  local missing=()
  for pkg in "${cep_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "cep: missing Debian packages: ${missing[*]}" >&2
      echo "cep: run as root, or install them: apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "cep: installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

cep_build() {
  cmake -S "$CEP_ROOT" -B "$CEP_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$CEP_BUILD" -j "$(nproc)"
}

cep_install_packages
cep_build
export PATH="$CEP_BUILD/tools:$PATH"
