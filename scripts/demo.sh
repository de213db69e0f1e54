#!/usr/bin/env bash
# The demo command: set everything up, then show KeyVNet working inside a network namespace:
# a name in a VNet zone resolves to a virtual IP and `curl` reaches the app through the tun.
# Run as root. It creates and deletes its own namespace; nothing touches the host's network.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bash scripts/demo-vnet.sh "$@"
