#!/usr/bin/env bash
# Installs code-server and playwright-core for the end-to-end test, on a machine
# that reaches the npm registry and nothing else on the internet.
#
# code-server's own post-install (`npm install` in lib/vscode and lib/vscode/extensions)
# cannot run as is here: it refuses root without `--unsafe-perm`, builds native modules
# (needs build-essential, pkg-config, libkrb5-dev, and Node's headers), and the
# @vscode/ripgrep dependency downloads its `rg` from GitHub, which fails. So this script
# does the post-install's steps itself: every package is installed with its scripts
# skipped, Debian's `rg` (package ripgrep) is put where @vscode/ripgrep expects its
# own, and the other packages' install scripts (native builds) run through
# `npm rebuild`. Needs Node.js 20, which code-server 4.100 requires.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" != 20 ]; then
    echo "code-server $(node -p 'require("./package.json").devDependencies["code-server"]') needs Node.js 20; this is Node.js $(node --version)" >&2
    exit 1
fi
rg="$(command -v rg || true)"
if [ -z "$rg" ]; then
    echo "ripgrep's rg is not on PATH (Debian: apt-get install ripgrep)" >&2
    exit 1
fi
# node-gyp would download Node's headers from nodejs.org; use the installed ones.
if [ -z "${npm_config_nodedir:-}" ]; then
    for dir in /usr /usr/local; do
        if [ -f "$dir/include/node/common.gypi" ]; then
            export npm_config_nodedir="$dir"
            break
        fi
    done
fi

echo "-- test/e2e: code-server and playwright-core, scripts skipped"
npm ci --ignore-scripts --no-audit --no-fund
# code-server needs argon2 at start-up: its prebuilt download fails, then it builds.
npm rebuild argon2

vscode="node_modules/code-server/lib/vscode"
echo "-- $vscode: VS Code's dependencies, scripts skipped"
(cd "$vscode" && npm install --omit=dev --ignore-scripts --no-audit --no-fund)

echo "-- @vscode/ripgrep: Debian's rg instead of a download"
mkdir -p "$vscode/node_modules/@vscode/ripgrep/bin"
cp "$rg" "$vscode/node_modules/@vscode/ripgrep/bin/rg"

echo "-- $vscode: the other packages' install scripts (native modules)"
mapfile -t scripted < <(cd "$vscode" && node -e '
  const lock = require("./node_modules/.package-lock.json");
  for (const [where, pkg] of Object.entries(lock.packages)) {
    const name = where.replace(/^.*node_modules\//, "");
    if (pkg.hasInstallScript && name !== "@vscode/ripgrep") console.log(name);
  }')
echo "${scripted[*]}"
# node-pty's post-install runs `npx node-gyp`, which asks before fetching node-gyp.
(cd "$vscode" && npm_config_yes=true npm rebuild "${scripted[@]}")

echo "-- $vscode: the links code-server's post-install makes"
(
    cd "$vscode"
    rm -rf node_modules.asar && ln -s node_modules node_modules.asar
    rm -f bin/remote-cli/code-server && ln -s code-linux.sh bin/remote-cli/code-server
    rm -f bin/helpers/browser.sh && ln -s browser-linux.sh bin/helpers/browser.sh
)

echo "-- $vscode/extensions: the built-in extensions' shared dependencies"
(cd "$vscode/extensions" && npm install --omit=dev --no-audit --no-fund)
