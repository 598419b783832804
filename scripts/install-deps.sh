#!/usr/bin/env bash
# Installs the Debian 12 packages dkimkit needs to build and test, when they are missing.
# Run as root (make demo / make test call it). Does nothing when everything is present.
# --package: also Debian's packaging tools (make package: dpkg-buildpackage, debhelper, lintian)
# and scdoc for the man pages.
set -euo pipefail

packages=(
  g++ cmake make pkg-config git ca-certificates openssl
  libssl-dev libldns-dev libunbound-dev libmilter-dev libtomlplusplus-dev libpsl-dev publicsuffix libexpected-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libhiredis-dev redis-server redis-tools
  libgtest-dev libbenchmark-dev
  python3 python3-dkim python3-authres libmail-dkim-perl libmail-authenticationresults-perl nsd ldnsutils
  postfix swaks opendkim
  scdoc man-db groff-base
)
if [ "${1:-}" = --package ]; then
  packages+=(dpkg-dev debhelper fakeroot lintian scdoc)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "dkimkit: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "dkimkit: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix from Debian asks how to set itself up: the tests run their own instances from their own
# configuration directories, so the system one stays unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt_opts=(-y -q -o DPkg::Lock::Timeout=600)
apt-get -q -o DPkg::Lock::Timeout=600 update
apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}"
