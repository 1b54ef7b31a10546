# Installs the Debian packages named that are not installed yet (sourced by setup.sh, cross-test.sh).
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# apt_install_missing TAG [--arch ARCH] [--no-remove] -- PACKAGE...
# Sets the array apt_missing to the packages that were missing. When any is, prints
# "TAG: installing ...", adds the foreign architecture ARCH to dpkg if it lacks it, updates the
# package lists and installs them (--no-remove: apt may upgrade others in lockstep but not remove
# any). Returns non-zero if a step failed, 0 otherwise (also when nothing was missing).
apt_install_missing() {
  local tag=$1 arch='' p
  local -a sudo_cmd=() apt_options=()
  shift
  while (($#)); do
    case $1 in
      --arch) arch=$2; shift 2 ;;
      --no-remove) apt_options+=(--no-remove); shift ;;
      --) shift; break ;;
      *) echo "apt_install_missing: unknown option $1" >&2; return 2 ;;
    esac
  done
  apt_missing=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      apt_missing+=("$p")
    fi
  done
  ((${#apt_missing[@]})) || return 0
  echo "$tag: installing ${apt_missing[*]}"
  if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
  if [ -n "$arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    "${sudo_cmd[@]}" dpkg --add-architecture "$arch"
  fi
  "${sudo_cmd[@]}" apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${apt_options[@]}" \
    --no-install-recommends "${apt_missing[@]}" || return 1
}
