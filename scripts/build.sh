#!/bin/bash
# Configures (or reconfigures) the build directory and builds everything.
# Usage: scripts/build.sh [BUILDDIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
builddir="${1:-build}"

if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" -Dwerror=true
else
  meson setup "$builddir" -Dwerror=true
fi
ninja -C "$builddir"
