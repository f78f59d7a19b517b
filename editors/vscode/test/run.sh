#!/usr/bin/env bash
# CI entry point for the VS Code extension: install the locked dependencies and run
# every test (compile, type-check, grammar, snapshots, unit, vsix), then the
# end-to-end test in a real VS Code (code-server and headless Chromium, test/e2e/),
# which needs cosmosc built (target/debug/cosmosc, or $COSMOSC) and Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm ci --no-audit --no-fund
npm test
bash test/e2e/install.sh
npm run test:e2e
