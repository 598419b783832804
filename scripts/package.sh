#!/usr/bin/env bash
# make package: the Debian packages (debian/) built with dpkg-buildpackage -us -uc -b from a copy
# of the tree (the files git tracks, and new ones it does not ignore) in BUILD/debian-build, so
# that neither the checkout nor its parent directory gets build products. The .deb files are
# copied to BUILD/packages/. JOBS: parallel build jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=${JOBS:-$(nproc)}

project_version=$(sed -n 's/^project(dkimkit VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
package_version=$(dpkg-parsechangelog -S Version)
if [ "${package_version%-*}" != "$project_version" ]; then
  echo "dkimkit: debian/changelog has $package_version, project(VERSION) is $project_version" >&2
  exit 1
fi

work=$build/debian-build
src=$work/dkimkit-$project_version
rm -rf "$work"
mkdir -p "$src" "$build/packages"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$src"

echo "dkimkit: dpkg-buildpackage -us -uc -b in $src (log: $work/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs nocheck noautodbgsym" dpkg-buildpackage -us -uc -b) \
  > "$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  echo "dkimkit: dpkg-buildpackage failed; the full log is $work/build.log" >&2
  exit 1
fi
rm -f "$build"/packages/*.deb
cp "$work"/*.deb "$build/packages/"
ls -1 "$build"/packages/*.deb
