#!/usr/bin/env bash
# Install tests (CTest: install.stage, install.find_package, install.pkg_config).
#
#   install_test.sh stage      BUILD_DIR STAGE VERSION
#       cmake --install BUILD_DIR --prefix /usr into the staging root STAGE (DESTDIR); checks the
#       installed files, the SONAMEs and that the installed programs print VERSION.
#   install_test.sh find_package STAGE WORKDIR VERSION CXX "SANITIZER_FLAGS"
#   install_test.sh pkg_config   STAGE WORKDIR VERSION CXX "SANITIZER_FLAGS"
#       build tests/install/consumer.cpp against STAGE (CMake package, or pkg-config with a
#       sysroot), linking dkimkit::zone and dkimkit::redis (dkimkit-zone, dkimkit-redis), run it on
#       samples/signed.eml with samples/example.com.zone and expect pass, then its Redis lines.
# SANITIZER_FLAGS are the build's -fsanitize flags (empty in the normal build): a program linked
# with ASan-instrumented shared libraries must be built with them too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
mode=$1
shift

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# The staged library directory (lib, or lib/<multiarch> when configured so).
libdir_of() {
  local dir
  dir=$(dirname "$(find "$1/usr" -name 'libdkimkit.so.*.*.*' -print -quit)")
  [ -d "$dir" ] || fail "no libdkimkit.so.X.Y.Z under $1/usr"
  echo "$dir"
}

case $mode in
stage)
  build=$1 stage=$2 version=$3
  rm -rf "$stage"
  DESTDIR="$stage" cmake --install "$build" --prefix /usr > "$stage.log" 2>&1 ||
    { cat "$stage.log" >&2; fail "cmake --install"; }
  lib=$(libdir_of "$stage")
  major=${version%%.*}
  for f in usr/bin/dkimkit usr/sbin/dkimkit-milter usr/include/dkimkit/dkimkit.hpp \
           usr/include/dkimkit/zone_resolver.hpp usr/include/dkimkit/unbound_resolver.hpp \
           usr/include/dkimkit/redis_replay.hpp usr/include/dkimkit/policy.hpp; do
    [ -e "$stage/$f" ] || fail "$f not installed"
  done
  for name in dkimkit dkimkit-zone dkimkit-unbound dkimkit-redis dkimkit-policy; do
    real="$lib/lib$name.so.$version"
    [ -f "$real" ] && [ ! -L "$real" ] || fail "lib$name.so.$version not installed"
    [ "$(readlink "$lib/lib$name.so.$major")" = "lib$name.so.$version" ] ||
      fail "lib$name.so.$major is not a link to lib$name.so.$version"
    [ "$(readlink "$lib/lib$name.so")" = "lib$name.so.$major" ] ||
      fail "lib$name.so is not a link to lib$name.so.$major"
    soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "lib$name.so.$major" ] || fail "SONAME of lib$name is '$soname'"
    [ -f "$lib/pkgconfig/$name.pc" ] || fail "$name.pc not installed"
    grep -qx "prefix=/usr" "$lib/pkgconfig/$name.pc" || fail "$name.pc: prefix is not /usr"
  done
  for f in dkimkitConfig.cmake dkimkitConfigVersion.cmake dkimkitTargets.cmake; do
    [ -f "$lib/cmake/dkimkit/$f" ] || fail "cmake/dkimkit/$f not installed"
  done
  ok "files, links and SONAMEs (${lib#"$stage"}/lib*.so.$major)"
  got=$(LD_LIBRARY_PATH="$lib" "$stage/usr/bin/dkimkit" --version)
  [ "$got" = "dkimkit $version" ] || fail "installed dkimkit --version: '$got', expected 'dkimkit $version'"
  got=$(LD_LIBRARY_PATH="$lib" "$stage/usr/sbin/dkimkit-milter" --version)
  [ "$got" = "dkimkit-milter $version" ] || fail "installed dkimkit-milter --version: '$got'"
  ok "installed programs print $version"
  ;;
find_package | pkg_config)
  stage=$1 work=$2 version=$3 cxx=$4 sanitize=${5:-}
  [ -d "$stage/usr" ] || fail "no staged install at $stage (install.stage runs first)"
  lib=$(libdir_of "$stage")
  rm -rf "$work"
  mkdir -p "$work"
  if [ "$mode" = find_package ]; then
    cmake -S "$here" -B "$work" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$sanitize" \
      -DCMAKE_PREFIX_PATH="$stage/usr" -DDKIMKIT_EXPECTED_VERSION="$version" > "$work/configure.log" 2>&1 ||
      { cat "$work/configure.log" >&2; fail "configure the consumer with find_package(dkimkit)"; }
    found=$(sed -n 's/^dkimkit_DIR:PATH=//p' "$work/CMakeCache.txt")
    [ "$found" = "$lib/cmake/dkimkit" ] || fail "find_package found dkimkit in '$found', not in the staging root"
    cmake --build "$work" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build the consumer"; }
  else
    export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR="$lib/pkgconfig" PKG_CONFIG_PATH=
    for name in dkimkit dkimkit-zone dkimkit-unbound dkimkit-redis dkimkit-policy; do
      pkg-config --print-errors --exact-version="$version" "$name" || fail "pkg-config $name = $version"
    done
    flags=$(pkg-config --cflags --libs dkimkit-zone dkimkit-redis)
    echo "pkg-config --cflags --libs dkimkit-zone dkimkit-redis: $flags"
    case " $flags " in *" -L$lib "*"-ldkimkit-zone "*"-ldkimkit-redis "*"-ldkimkit "*) ;;
      *) fail "dkimkit-zone dkimkit-redis flags lack -L$lib -ldkimkit-zone -ldkimkit-redis -ldkimkit" ;; esac
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++20 $sanitize -o "$work/consumer" "$here/consumer.cpp" $flags ||
      fail "build the consumer with pkg-config"
  fi
  [ -x "$work/consumer" ] || fail "no consumer program"
  # ldd's output is read whole first: `ldd | grep -q` under pipefail fails whenever grep exits
  # before ldd has written its last line (SIGPIPE), which happened under a loaded make test.
  libs=$(LD_LIBRARY_PATH="$lib" ldd "$work/consumer")
  for name in dkimkit-zone dkimkit-redis; do
    grep -q "lib$name.so.* => $lib/" <<<"$libs" || fail "the consumer does not load the staged lib$name"
  done
  out=$(LD_LIBRARY_PATH="$lib" "$work/consumer" "$source_dir/samples/example.com.zone" \
    "$source_dir/samples/signed.eml") || { echo "$out"; fail "the consumer did not pass"; }
  echo "$out"
  grep -qx "dkimkit $version result: pass" <<< "$out" || fail "the consumer did not print pass"
  grep -qx "redis address: host ::1 port 6390 db 2" <<< "$out" ||
    fail "the consumer did not parse the Redis address"
  grep -qx "redis store unreachable: uncounted 1" <<< "$out" ||
    fail "the consumer's store on a missing socket did not fail"
  ok "consumer built with $mode verifies samples/signed.eml: pass; dkimkit::redis parses and fails open"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
