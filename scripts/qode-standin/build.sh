#!/usr/bin/env bash
# Builds the qode stand-in (qode_standin.cc, see the comment at its top) and prints the path of
# the resulting shared object on stdout. Idempotent: the output is cached outside the repo under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/keyvnet/qode-standin/<hash>/libqode_standin.so
# where <hash> covers this script, the source, the Qt version, the Node headers version and the
# compiler, so any of them changing triggers a rebuild and a cache hit costs a few process spawns.
# Needs: g++, pkg-config, qt6-base-dev, Node headers (/usr/include/node or NODE_INCLUDE_DIR).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/qode_standin.cc"
node_inc="${NODE_INCLUDE_DIR:-/usr/include/node}"
cxx="${CXX:-g++}"

die() {
  echo "qode-standin/build.sh: $*" >&2
  exit 1
}

[[ "$(uname -s)" == Linux ]] || die "the stand-in is for Linux; on macOS NodeGui's own qode is used"
command -v "$cxx" >/dev/null || die "$cxx not found (apt-get install g++)"
command -v pkg-config >/dev/null || die "pkg-config not found (apt-get install pkg-config)"
qt_version="$(pkg-config --modversion Qt6Core 2>/dev/null)" || die "Qt6Core not found by pkg-config (apt-get install qt6-base-dev)"
[[ -f "$node_inc/node_api.h" && -f "$node_inc/uv.h" ]] || die "Node headers not found in $node_inc (set NODE_INCLUDE_DIR)"
node_version="$(sed -n 's/^#define NODE_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\).*/\2/p' "$node_inc/node_version.h" | paste -sd.)"

hash="$(
  {
    cat "$0" "$src"
    echo "qt=$qt_version node=$node_version"
    "$cxx" --version | head -n1
  } | sha256sum | cut -c1-16
)"
out_dir="${XDG_CACHE_HOME:-$HOME/.cache}/keyvnet/qode-standin/$hash"
out="$out_dir/libqode_standin.so"

if [[ ! -f "$out" ]]; then
  mkdir -p "$out_dir"
  tmp="$(mktemp "$out_dir/.build.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  # shellcheck disable=SC2046 # pkg-config output is a list of flags
  "$cxx" -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror \
    -I"$node_inc" $(pkg-config --cflags Qt6Core Qt6Gui Qt6Widgets) \
    -o "$tmp" "$src" \
    $(pkg-config --libs Qt6Core Qt6Gui Qt6Widgets) >&2
  mv -f "$tmp" "$out" # atomic: a concurrent build never sees a half-written file
  trap - EXIT
fi
echo "$out"
