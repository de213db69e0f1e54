#!/usr/bin/env bash
# Runs the KeyVNet agent's menu-bar app: scripts/run-app.sh [app/main.ts options]
#
# Linux: NodeGui's addon expects to run inside `qode` (a Node patched to run Qt's loop), which is
#   not available here. scripts/qode-standin/build.sh builds (once, cached) a small shared object
#   standing in for it; we pass its path in KEYVNET_QODE_STANDIN and app/ui/qt-runtime.ts loads it
#   with RTLD_GLOBAL before NodeGui. `LD_PRELOAD=<that .so> node --import tsx app/main.ts` works
#   too (qt-runtime.ts finds it there and drops it from the environment once loaded), but we do not
#   use it here: until then every child would inherit it and load Qt.
# macOS: NodeGui's own qode is used, as its docs say: `npx qode <script>` (node_modules/.bin/qode,
#   downloaded by NodeGui's install script). qode 24 is Node 24, so `--import tsx` works the same.
# --headless needs neither: `node --import tsx app/main.ts --headless` runs without Qt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

case "$(uname -s)" in
  Linux)
    if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
      echo "run-app.sh: no DISPLAY/WAYLAND_DISPLAY: start a desktop session or use --headless" >&2
      exit 1
    fi
    standin="$("$root/scripts/qode-standin/build.sh")"
    KEYVNET_QODE_STANDIN="$standin" exec node --import tsx "$root/app/main.ts" "$@"
    ;;
  Darwin)
    exec npx --no-install qode --import tsx "$root/app/main.ts" "$@"
    ;;
  *)
    echo "run-app.sh: unsupported platform $(uname -s)" >&2
    exit 1
    ;;
esac
