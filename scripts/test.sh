#!/usr/bin/env bash
# The test command: set everything up, then lint, typecheck and run the whole suite.
# Root/network-namespace tests skip with a reason on a machine without them, but under CI=true
# they must run (a missing privilege fails them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo '== lint'
npm run --silent lint
echo '== typecheck'
npm run --silent typecheck
echo '== tests'
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx mocha 'tests/**/*.test.ts' 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# mocha's summary as the plain closing line CI reads: "tests: N passed, N failed, N skipped".
count() {
  local n
  n=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -oE "^ +[0-9]+ $1" | grep -oE '[0-9]+' | tail -1 || true)
  echo "${n:-0}"
}
echo "tests: $(count passing) passed, $(count failing) failed, $(count pending) skipped"
exit "$rc"
