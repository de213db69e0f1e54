#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian 12 machine (and a quick no-op on a prepared one):
#   1. Debian packages the daemon, the agent, the tests and the demo use;
#   2. npm dependencies (npm ci, without install scripts: see below), our patches to them, and
#      ssh2's optional native crypto binding;
#   3. NodeGui's native addon, built once against Debian's Qt and cached outside the repository;
#   4. the `qode` stand-in that lets NodeGui run under plain Node on Linux.
# Run it as root (apt-get, network namespaces). Every step skips itself when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/keyvnet"
mkdir -p "$CACHE"
log() { printf '[setup] %s\n' "$*" >&2; }
t0=$(date +%s)

# --- 1. Debian packages --------------------------------------------------------------------------
APT_PACKAGES=(
  qt6-base-dev qt6-svg-dev pkg-config cmake g++ make  # NodeGui addon and the qode stand-in
  libusb-1.0-0                                         # node-hid at run time
  iproute2 iputils-ping curl dnsutils psmisc           # network namespaces, tun, DNS/HTTP clients
  iptables                                             # the daemon's UDP filter on the VNet ranges
  openssh-server openssh-client                        # real sshd / ssh in tests and the demo
  xvfb trayer xdotool x11-apps imagemagick             # GUI test: display, tray, X input, screenshots
  libnotify-bin libglib2.0-bin                         # desktop notifications (notify-send, gdbus)
  sshuttle iperf3                                      # benchmark peers
)
if [ "$(uname -s)" = Linux ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# --- 2. npm dependencies ---------------------------------------------------------------------------
# Install scripts are not run by `npm ci` here: @nodegui/nodegui's and @nodegui/qode's download Qt,
# a prebuilt addon and the qode binary, none of which is reachable. The scripts we do rely on are
# listed under `allowScripts` in package.json and run explicitly below (node-hid verifies its
# prebuilds; NodeGui's addon is built by step 3).
stamp=node_modules/.keyvnet-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  npm rebuild node-hid --loglevel=error >/dev/null
  echo "$want" >"$stamp"
fi
# Our patches to dependencies (patches/, patch-package): run here because npm ci skips postinstall.
# Idempotent: an applied patch is recognised and left alone; a fresh node_modules gets it again.
npx --no-install patch-package --error-on-fail >/dev/null
# ssh2's optional native crypto (AES-GCM, ChaCha20-Poly1305 in C): built once per node_modules;
# without it ssh2 falls back to JavaScript, slower but correct, so a failure is only a warning.
SSH2_CRYPTO=node_modules/ssh2/lib/protocol/crypto
if [ ! -f "$SSH2_CRYPTO/build/Release/sshcrypto.node" ]; then
  NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  log "building ssh2's native crypto binding"
  (cd "$SSH2_CRYPTO" && node "$NODE_GYP" rebuild --nodedir=/usr >"$CACHE/ssh2-crypto-build.log" 2>&1) ||
    log "warning: ssh2 crypto binding failed to build (ssh2 uses JS crypto; log: $CACHE/ssh2-crypto-build.log)"
fi

# --- 3. NodeGui's native addon -------------------------------------------------------------------
if [ "$(uname -s)" = Linux ]; then
  NG_DIR=node_modules/@nodegui/nodegui
  NG_VERSION=$(node -p "require('./$NG_DIR/package.json').version")
  QT_VERSION=$(pkg-config --modversion Qt6Core)
  ADDON_CACHE="$CACHE/nodegui/$NG_VERSION-qt$QT_VERSION-$(uname -m)"
  ADDON="$NG_DIR/build/Release/nodegui_core.node"
  if [ ! -f "$ADDON_CACHE/nodegui_core.node" ]; then
    log "building NodeGui $NG_VERSION addon against Qt $QT_VERSION (one time, several minutes)"
    (cd "$NG_DIR" && QT_INSTALL_DIR=/usr CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      npx --no-install cmake-js compile >"$CACHE/nodegui-build.log" 2>&1) || {
      tail -30 "$CACHE/nodegui-build.log" >&2
      log "NodeGui addon build failed (full log: $CACHE/nodegui-build.log)"
      exit 1
    }
    mkdir -p "$ADDON_CACHE"
    cp "$ADDON" "$ADDON_CACHE/nodegui_core.node.tmp"
    mv "$ADDON_CACHE/nodegui_core.node.tmp" "$ADDON_CACHE/nodegui_core.node"
  fi
  if ! cmp -s "$ADDON_CACHE/nodegui_core.node" "$ADDON" 2>/dev/null; then
    mkdir -p "$(dirname "$ADDON")"
    cp "$ADDON_CACHE/nodegui_core.node" "$ADDON"
  fi

  # --- 4. the qode stand-in ------------------------------------------------------------------------
  if [ -f scripts/qode-standin/build.sh ]; then
    bash scripts/qode-standin/build.sh >/dev/null
  fi
fi

log "ready in $(($(date +%s) - t0)) s"
