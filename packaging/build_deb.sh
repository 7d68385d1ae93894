#!/usr/bin/env bash
# Builds the mirrorfs .deb on Debian 12, as root, from the repository
# root: installs the build dependencies, builds mirrorfs (no tests, no
# benchmarks) in build-deb/ and runs cpack there. Prints the path of the
# package; install it with
#   apt-get install -y ./build-deb/mirrorfs_*.deb
# (on another host: copy the file there and run the same command).
#
# Environment: JOBS (default 2), BUILD_DIR (default build-deb).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
JOBS=${JOBS:-2}
BUILD_DIR=${BUILD_DIR:-build-deb}
PACKAGES=(cmake ninja-build g++ pkg-config libb2-dev nettle-dev libsqlite3-dev
          libfuse3-dev fuse3 libboost-dev libssl-dev libzstd-dev libtomlplusplus-dev
          python3 dpkg-dev file)

source packaging/install_packages.sh
install_packages "${PACKAGES[@]}"

cmake -S . -B "$BUILD_DIR" -G Ninja -DMIRRORFS_TESTS=OFF -DMIRRORFS_BENCH=OFF
cmake --build "$BUILD_DIR" -j "$JOBS"
rm -f "$BUILD_DIR"/mirrorfs_*.deb
(cd "$BUILD_DIR" && cpack -G DEB)
ls "$PWD/$BUILD_DIR"/mirrorfs_*.deb
