#!/usr/bin/env bash
# make package-test: checks the packages that make package left in PACKAGES (build/packages):
# the files each holds (dpkg-deb -c), lintian (any error fails; warnings are printed), then the
# programs unpacked with dpkg-deb -x into a temporary root and run from there on the bundled
# signed sample: dkimkit --version, dkimkit verify --zone, dkimkit-milter --version.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
packages=$(cd "${1:-build/packages}" && pwd)
version=$(sed -n 's/^project(dkimkit VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

deb_of() {
  local f
  f=$(ls "$packages/$1"_"$version"-*_"$arch".deb 2>/dev/null | head -1)
  [ -n "$f" ] || { echo "no $1 package for $version in $packages" >&2; exit 1; }
  echo "$f"
}

# 1. The files of each package (paths as dpkg-deb -c lists them).
expect() {
  local package=$1 listing
  shift
  listing=$(dpkg-deb -c "$(deb_of "$package")" | awk '{print $6}')
  for path in "$@"; do
    grep -qx "\./$path" <<< "$listing" || fail "$package lacks $path"
  done
  ok "$package has its ${#} expected paths"
}
lib=usr/lib/$multiarch
major=${version%%.*}
expect dkimkit usr/bin/dkimkit usr/share/doc/dkimkit/copyright
expect dkimkit-milter usr/sbin/dkimkit-milter etc/dkimkit/milter.toml etc/dkimkit/keys/ \
  lib/systemd/system/dkimkit-milter.service usr/share/doc/dkimkit-milter/README.Debian
expect_libs=()
expect_dev=(usr/include/dkimkit/dkimkit.hpp usr/include/dkimkit/zone_resolver.hpp
  "$lib/cmake/dkimkit/dkimkitConfig.cmake" "$lib/cmake/dkimkit/dkimkitConfigVersion.cmake"
  "$lib/cmake/dkimkit/dkimkitTargets.cmake")
for name in dkimkit dkimkit-zone dkimkit-unbound dkimkit-redis dkimkit-policy; do
  expect_libs+=("$lib/lib$name.so.$version" "$lib/lib$name.so.$major")
  expect_dev+=("$lib/lib$name.so" "$lib/pkgconfig/$name.pc")
done
expect "libdkimkit$major" "${expect_libs[@]}"
expect libdkimkit-dev "${expect_dev[@]}"
if [ -f "$here/man/CMakeLists.txt" ]; then  # the man pages, once the tree has them (man/, scdoc)
  expect dkimkit usr/share/man/man1/dkimkit.1.gz
  expect dkimkit-milter usr/share/man/man8/dkimkit-milter.8.gz \
    usr/share/man/man5/dkimkit-milter.toml.5.gz
fi
conffiles=$(dpkg-deb -I "$(deb_of dkimkit-milter)" conffiles)
if grep -qx /etc/dkimkit/milter.toml <<<"$conffiles"; then
  ok "/etc/dkimkit/milter.toml is a conffile"
else
  fail "/etc/dkimkit/milter.toml is not a conffile"
fi

# 2. lintian: errors fail, warnings are shown.
debs=("$(deb_of dkimkit)" "$(deb_of dkimkit-milter)" "$(deb_of "libdkimkit$major")"
  "$(deb_of libdkimkit-dev)")
lintian_out=$(lintian --tag-display-limit 0 "${debs[@]}" 2>&1) || true
[ -n "$lintian_out" ] && echo "$lintian_out"
if grep -q '^E: ' <<< "$lintian_out"; then
  fail "lintian reports errors"
else
  ok "lintian: no errors ($(grep -c '^W: ' <<< "$lintian_out" || true) warnings)"
fi

# 3. The unpacked programs, run from a temporary root on the bundled sample.
root=$(mktemp -d /tmp/dkimkit-package-test.XXXXXX)
trap 'rm -rf "$root"' EXIT
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$root"; done
export LD_LIBRARY_PATH=$root/$lib
run() {
  local want=$1 out
  shift
  if out=$("$@" 2>&1) && grep -q -- "$want" <<< "$out"; then
    ok "${*#"$root"/}: $want"
  else
    echo "$out" >&2
    fail "$*: expected '$want'"
  fi
}
run "^dkimkit $version\$" "$root/usr/bin/dkimkit" --version
run "dkim=pass" "$root/usr/bin/dkimkit" verify --zone "$here/samples/example.com.zone" \
  "$here/samples/signed.eml"
run "^dkimkit-milter $version\$" "$root/usr/sbin/dkimkit-milter" --version
libs=$(ldd "$root/usr/bin/dkimkit")  # read whole: `ldd | grep -q` under pipefail can SIGPIPE
grep -q "libdkimkit.so.$major => $root/" <<<"$libs" ||
  fail "the unpacked dkimkit does not load the unpacked libdkimkit.so.$major"

if [ "$failures" -ne 0 ]; then
  echo "package-test: $failures failure(s)" >&2
  exit 1
fi
echo "package-test: all checks passed"
