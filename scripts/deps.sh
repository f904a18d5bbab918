#!/usr/bin/env bash
# Install libwsrl's build, test and example dependencies on Debian 12 when missing.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config libdnnl-dev libmujoco-dev check libsubunit-dev
      libhdf5-dev gnuplot-nox python3 python3-numpy python3-h5py python3-cffi python3-pytest clang libclang-rt-14-dev doxygen
      abigail-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
