#!/usr/bin/env bash
# VNet demo (run as root): in a network namespace of its own, start a small HTTP server, the KeyVNet
# daemon and the headless agent with a config.toml of one app, hello.corp.test (direct to the HTTP
# server). The agent pushes the config to the daemon and brings VNet up; the demo shows that the name
# resolves to a virtual IP, that curl reaches the app through the tun, and the tun's addresses.
# Everything is stopped and the namespace deleted on exit (trap), also after an interrupted earlier run.
set -euo pipefail
cd "$(dirname "$0")/.."

NS=kvn-demo
STATE=/run/keyvnet-demo
WORK=/run/keyvnet-demo-work
TUN=kvndemo0
NODE=(node --import tsx)

if [ "$(id -u)" != 0 ]; then
  echo "demo-vnet.sh: must run as root (it creates a network namespace and a tun device)" >&2
  exit 1
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
  local pid
  for pid in ${AGENT_PID:-} ${DAEMON_PID:-} ${HTTP_PID:-}; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Give the daemon its orderly stop (engine, routes, resolver, tun), then make sure.
  for _ in $(seq 1 50); do
    if [ -z "${DAEMON_PID:-}" ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  for pid in ${AGENT_PID:-} ${DAEMON_PID:-} ${HTTP_PID:-}; do wait "$pid" 2>/dev/null || true; done
  if ip netns list | grep -q "^$NS\( \|$\)"; then
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns delete "$NS" 2>/dev/null || true
  fi
  rm -rf "/etc/netns/$NS" "$STATE" "$WORK"
  rmdir /etc/netns 2>/dev/null || true
}

# Idempotent: clear what an interrupted earlier run may have left, then always clean up on exit.
AGENT_PID='' DAEMON_PID='' HTTP_PID=''
cleanup
trap cleanup EXIT

step "network namespace $NS"
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# `ip netns exec` bind-mounts this over /etc/resolv.conf inside the namespace (ip-netns(8)); the daemon
# points it at VNet DNS and restores it on stop. The host's /etc/resolv.conf is never touched.
mkdir -p "/etc/netns/$NS" "$WORK"
printf 'nameserver 192.0.2.53\noptions timeout:1 attempts:1\n' >"/etc/netns/$NS/resolv.conf"
# The user's config (the agent's): one zone reached directly, one app in it.
cat >"$WORK/config.toml" <<TOML
[[zone]]
suffix = "corp.test"
via = "direct"

[[app]]
name = "hello.corp.test"
target = "127.0.0.1:8080"
ports = [80]
description = "the demo's web page"
TOML

wait_for() { # file regex what
  for _ in $(seq 1 150); do
    if grep -qE "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "demo-vnet.sh: $3 did not start; its output:" >&2
  cat "$1" "$1.err" >&2 2>/dev/null || true
  exit 1
}

step "HTTP server on 127.0.0.1:8080 inside the namespace"
ip netns exec "$NS" "${NODE[@]}" tests/integration/fixtures/vnet/http-server.ts 127.0.0.1 8080 \
  'Hello from behind KeyVNet!' >"$WORK/http.out" 2>"$WORK/http.out.err" &
HTTP_PID=$!
wait_for "$WORK/http.out" '^LISTENING' 'the HTTP server'

step "KeyVNet daemon (systemext/main.ts, root): no user config, waits for the agent"
ip netns exec "$NS" "${NODE[@]}" systemext/main.ts --allow-uid "$(id -u)" --socket-dir "$WORK/run" \
  --state-dir "$STATE" --tun-name "$TUN" >"$WORK/daemon.out" 2>"$WORK/daemon.out.err" &
DAEMON_PID=$!
wait_for "$WORK/daemon.out" '^READY ' 'the daemon'
sed -n 's/^READY //p' "$WORK/daemon.out"

step "KeyVNet agent (app/main.ts --headless): reads config.toml, drives the daemon"
ip netns exec "$NS" "${NODE[@]}" app/main.ts --headless --config "$WORK/config.toml" \
  --daemon-socket "$WORK/run/daemon.sock" --ssh-agent-socket none \
  >"$WORK/agent.out" 2>"$WORK/agent.out.err" &
AGENT_PID=$!
wait_for "$WORK/agent.out" '^vnet: up' 'the agent'
sed 's/^/  /' "$WORK/agent.out"

step "getent hosts hello.corp.test"
ip netns exec "$NS" getent hosts hello.corp.test

step "getent ahostsv4 hello.corp.test"
ip netns exec "$NS" getent ahostsv4 hello.corp.test | head -1

step "curl http://hello.corp.test/"
ip netns exec "$NS" curl -sS --max-time 10 http://hello.corp.test/

step "ip addr show dev $TUN"
ip netns exec "$NS" ip addr show dev "$TUN"

step "stopping the agent (SIGTERM: VNet goes down with it), then the daemon"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || true
AGENT_PID=''
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || true
DAEMON_PID=''
echo "daemon log:"
sed 's/^/  /' "$WORK/daemon.out.err"
echo "resolv.conf in the namespace after stop:"
sed 's/^/  /' "/etc/netns/$NS/resolv.conf"
