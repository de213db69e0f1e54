#!/usr/bin/env bash
# Mutation testing of the packet path with StrykerJS (not part of CI: it takes minutes to hours).
# Each suite mutates some files and runs the unit tests that should notice; the kill rate is printed
# at the end of each suite (aim: >= 80 %).
#   scripts/mutation.sh [ring|fast-path|checksum|nat|dns|all] ...     (default: all)
# Stryker 9.5's command runner (its mocha runner wants mocha < 12) runs mocha (tsx) once per mutant,
# with no coverage analysis, so the test lists stay short. Sandboxes and configs go to .cache/
# (ignored by git). Shared settings: scripts/stryker.config.json.
set -euo pipefail
cd "$(dirname "$0")/.."

suite_files() {
  case "$1" in
    ring) echo "systemext/tun/ring.ts" ;;
    fast-path) echo "systemext/vnet/fast-path.ts" ;;
    checksum) echo "systemext/net/checksum.ts" ;;
    nat) echo "systemext/vnet/nat-table.ts,systemext/vnet/nat-view.ts" ;;
    dns) echo "systemext/dns/forwarder.ts,systemext/dns/responder.ts" ;;
    *) echo "unknown suite $1" >&2; exit 2 ;;
  esac
}

suite_tests() {
  case "$1" in
    ring) echo "tests/unit/tun/ring.test.ts" ;;
    fast-path) echo "tests/unit/vnet/nat.test.ts" ;;
    checksum) echo "tests/unit/net/checksum.test.ts" ;;
    nat) echo "tests/unit/vnet/nat-table.test.ts tests/unit/vnet/nat.test.ts tests/unit/vnet/engine-lifecycle.test.ts tests/unit/vnet/engine.test.ts" ;;
    dns) echo "tests/unit/dns/forwarder.test.ts tests/unit/dns/responder.test.ts tests/unit/vnet/engine-lifecycle.test.ts" ;;
  esac
}

suites=("$@")
if [ ${#suites[@]} -eq 0 ] || [ "${suites[0]}" = all ]; then suites=(ring fast-path checksum nat dns); fi
for s in "${suites[@]}"; do
  echo "=== mutation suite: $s ($(suite_files "$s"))"
  # The command runner's command is a nested option: write a per-suite config from the shared one.
  mkdir -p .cache
  cfg=".cache/stryker-$s.json"
  MUTATE="$(suite_files "$s")" TESTS="$(suite_tests "$s")" node -e '
    const c = JSON.parse(require("fs").readFileSync("scripts/stryker.config.json", "utf8"));
    c.mutate = process.env.MUTATE.split(",");
    // node + the mocha script directly: npx costs a second per mutant.
    c.commandRunner = { command: `node ${process.cwd()}/node_modules/mocha/bin/mocha.js --bail ${process.env.TESTS}` };
    c.htmlReporter = { fileName: `.cache/stryker-report-${process.argv[1]}.html` };
    c.tempDirName = `.cache/stryker-tmp-${process.argv[1]}`; // suites may run side by side
    require("fs").writeFileSync(process.argv[2], JSON.stringify(c, null, 2));
  ' "$s" "$cfg"
  npx stryker run "$cfg"
done
