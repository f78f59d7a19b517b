#!/usr/bin/env bash
# CI entry point for the VS Code extension: install the locked dependencies
# and run every test (compile, type-check, grammar, snapshots, unit, vsix).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm ci --no-audit --no-fund
npm test
