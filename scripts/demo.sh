#!/usr/bin/env bash
# The demo command: set everything up, then show the product in three network namespaces made for the
# demo (laptop → bastion → intranet; nothing touches the host's network): `curl http://hello.corp.test/`
# on the laptop fetches an intranet page by name, through VNet and a real OpenSSH bastion, the SSH
# login signed by the agent's (virtual) security key after a touch. It then stays up for you to try
# until Ctrl-C; `--once` stops after the checks.
# The parts on their own: scripts/demo-vnet.sh (VNet with a direct app), scripts/demo-sshagent.sh
# (the ssh-agent with a virtual key and the real ssh). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo-product.ts "$@"
