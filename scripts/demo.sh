#!/usr/bin/env bash
# The demo command: set everything up, then show KeyVNet working, each part in a network namespace of
# its own (created and deleted by the part; nothing touches the host's network):
#   1. VNet: a name in a VNet zone resolves to a virtual IP and `curl` reaches the app through the tun;
#   2. security keys: a virtual FIDO2 key enrolls OpenSSH sk keys, our ssh-agent serves them, and the
#      real `ssh` logs in to a real `sshd` with a touch, then with a PIN (a wrong one first).
# Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/demo-vnet.sh "$@"
bash scripts/demo-sshagent.sh
