#!/bin/bash
# Installs every Debian package needed to build hoardfs and run all its tests.
# Idempotent: packages already installed are left alone, and apt-get update
# runs only when something is missing.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++
  libfuse3-dev fuse3 liburing-dev libsqlite3-dev libzstd-dev libsodium-dev libssl-dev libxxhash-dev
  libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev libfmt-dev libpugixml-dev
  # unit and contract tests
  libgtest-dev libgmock-dev
  # end-to-end tests (tests/e2e): python3 standard library plus these tools
  python3 rsync attr acl psmisc tar coreutils util-linux openssl
  # docs tests (tests/docs): every man page renders without warnings
  man-db groff-base
  # rsnapshot end-to-end test; benchmarks (bench/): fio, Google Benchmark
  rsnapshot fio libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
