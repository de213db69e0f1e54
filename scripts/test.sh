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
npx mocha 'tests/**/*.test.ts'
