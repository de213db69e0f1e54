#!/usr/bin/env bash
# Security-key demo (run as root, unattended, ~10 s): virtual FIDO key + the KeyVNet ssh-agent + a real
# OpenSSH sshd/ssh in a network namespace of its own; touch key, wrong PIN, right PIN. Exits 0 only when
# every expected outcome happened. See scripts/demo-sshagent.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo-sshagent.sh: must run as root (it creates a network namespace and starts sshd)" >&2
  exit 1
fi
exec node --import tsx scripts/demo-sshagent.ts "$@"
