'use strict';
// The extension in a real VS Code: code-server (VS Code in the browser, from the npm
// registry) with the packaged .vsix installed, driven through headless Chromium by
// playwright-core, on a copy of a monorepo-shaped workspace (the `encode` example
// project in services/encode/, the workspace folder above it). The test opens
// src/main.emx, types an error and reads it from the Problems panel, hovers a fact and
// reads the hover, renames the fact with F2 and checks that `cosmosc check` is clean
// on the saved files. On failure a screenshot goes to test/screens/ (or
// $EMX_E2E_SCREENS) and code-server's log is printed.
//
// Needs: `npm ci` in editors/vscode (vsce, to package the .vsix), `bash install.sh`
// here (code-server, playwright-core), Chromium at $CHROMIUM or /usr/bin/chromium, and
// cosmosc at $COSMOSC or target/debug/cosmosc ($CARGO_TARGET_DIR is honoured).

const { spawn, spawnSync } = require('node:child_process');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const here = __dirname;
const extensionRoot = path.resolve(here, '..', '..');
const repo = path.resolve(extensionRoot, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(repo, 'target');
const cosmosc = path.resolve(process.env.COSMOSC || path.join(targetDir, 'debug', 'cosmosc'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screens = path.resolve(process.env.EMX_E2E_SCREENS || path.join(here, '..', 'screens'));
const codeServer = path.join(here, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
/** How long one UI state may take to appear. */
const STEP_MS = 60_000;
/** How long the whole test may take, packaging and installing the .vsix included. */
const BUDGET_MS = 180_000;

const started = Date.now();
function log(message) {
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  return result;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The workspace: the example project in a subfolder of the folder VS Code opens. */
function makeWorkspace(scratch) {
  const folder = path.join(scratch, 'monorepo');
  const project = path.join(folder, 'services', 'encode');
  fs.cpSync(path.join(repo, 'examples', 'encode'), project, { recursive: true });
  fs.writeFileSync(path.join(folder, 'README.md'), 'A monorepo: the Emx project is in services/encode.\n');
  fs.mkdirSync(path.join(folder, '.vscode'));
  fs.writeFileSync(
    path.join(folder, '.vscode', 'settings.json'),
    JSON.stringify(
      {
        'emx.server.path': cosmosc,
        // The test types code: what it types is the text, with nothing auto-closed
        // and no suggestion accepted on the way.
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.autoIndent': 'none',
        'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
        'editor.suggestOnTriggerCharacters': false,
        'editor.acceptSuggestionOnCommitCharacter': false,
        'editor.hover.delay': 100,
      },
      null,
      2,
    ),
  );
  return { folder, project };
}

function userSettings(userDataDir) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'settings.json'),
    JSON.stringify({
      // VS Code in a browser saves after a delay by default; desktop VS Code does not.
      'files.autoSave': 'off',
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'window.restoreWindows': 'none',
    }),
  );
}

function packageVsix(scratch) {
  const vsix = path.join(scratch, 'emx.vsix');
  const vsce = require.resolve('@vscode/vsce/vsce', { paths: [extensionRoot] });
  const result = run(process.execPath, [vsce, 'package', '--out', vsix], { cwd: extensionRoot });
  assert.equal(result.status, 0, `vsce package failed:\n${result.stdout}\n${result.stderr}`);
  return vsix;
}

function codeServerArgs(dirs) {
  return [
    codeServer,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--config',
    dirs.config,
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
  ];
}

/** Starts code-server on `port`, serving `folder`. */
function spawnCodeServer(dirs, port, folder, output) {
  const child = spawn(process.execPath, [...codeServerArgs(dirs), '--bind-addr', `127.0.0.1:${port}`, folder], {
    cwd: folder,
    env: { ...process.env, XDG_DATA_HOME: dirs.xdg, XDG_CONFIG_HOME: dirs.xdg },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk) => output.push(chunk.toString()));
  return child;
}

/** Resolves once code-server says it listens. */
async function listening(child, output) {
  const deadline = Date.now() + STEP_MS;
  while (!output.join('').includes('HTTP server listening on')) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before listening`);
    }
    if (Date.now() > deadline) throw new Error(`code-server did not listen within ${STEP_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main() {
  assert.ok(fs.existsSync(cosmosc), `no cosmosc at ${cosmosc}: build it (cargo build -p cosmosc) or set COSMOSC`);
  assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}: apt-get install chromium, or set CHROMIUM`);
  assert.ok(fs.existsSync(codeServer), `no code-server at ${codeServer}: run bash install.sh in ${here}`);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'emx-e2e-'));
  const dirs = {
    config: path.join(scratch, 'code-server.yaml'),
    userData: path.join(scratch, 'user-data'),
    extensions: path.join(scratch, 'extensions'),
    xdg: path.join(scratch, 'xdg'),
    chromium: path.join(scratch, 'chromium'),
  };
  fs.writeFileSync(dirs.config, '');
  userSettings(dirs.userData);
  const { folder, project } = makeWorkspace(scratch);
  const mainFile = path.join(project, 'src', 'main.emx');
  const testsFile = path.join(project, 'src', 'tests.emx');

  let server;
  let browser;
  let page;
  const serverOutput = [];
  let failed = false;
  let budgetTimer;
  try {
    const budget = new Promise((_, reject) => {
      budgetTimer = setTimeout(() => reject(new Error(`the test took more than ${BUDGET_MS / 1000} s`)), BUDGET_MS);
    });
    const steps = (async () => {
      log('packaging the .vsix');
      const vsix = packageVsix(scratch);

      log(`installing ${path.basename(vsix)} into code-server`);
      const install = run(process.execPath, [...codeServerArgs(dirs), '--install-extension', vsix], {
        env: { ...process.env, XDG_DATA_HOME: dirs.xdg, XDG_CONFIG_HOME: dirs.xdg },
      });
      assert.equal(install.status, 0, `--install-extension failed:\n${install.stdout}\n${install.stderr}`);
      const installed = fs.readdirSync(dirs.extensions);
      assert.ok(installed.some((name) => name.startsWith('cosmos.emx-')), `no cosmos.emx in ${installed}:\n${install.stdout}`);

      const port = await freePort();
      log(`starting code-server on 127.0.0.1:${port}`);
      server = spawnCodeServer(dirs, port, folder, serverOutput);
      await listening(server, serverOutput);

      log('starting Chromium');
      // A fresh profile (Playwright passes it as --user-data-dir).
      browser = await chromium.launchPersistentContext(dirs.chromium, {
        executablePath: chromiumPath,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1400, height: 900 },
      });
      page = browser.pages()[0] ?? (await browser.newPage());
      page.setDefaultTimeout(STEP_MS);
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
      await page.locator('.monaco-workbench').waitFor();
      await page.locator('.explorer-folders-view').waitFor();
      log('the workbench is up');

      // Open services/encode/src/main.emx with Quick Open.
      await quickOpen(page, 'main.emx', 'main.emx');
      const editor = page.locator('.editor-instance .monaco-editor').first();
      await editor.locator('.view-lines').getByText('workflow Transcode').waitFor();
      await page.locator('.tab.active', { hasText: 'main.emx' }).waitFor();
      log('main.emx is open');

      // The language server runs: the extension's status bar item shows a check mark.
      await page.locator('.statusbar-item:has(.codicon-check)', { hasText: 'Emx' }).waitFor();
      log('the status bar says the language server runs');

      // Type an error at the end of the file; the Problems panel shows it.
      await focusEditor(page, editor);
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Enter');
      await page.keyboard.type('def broken(): Int { "text" }');
      await page.keyboard.press('Control+Shift+M');
      const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'E0201' });
      await problem.waitFor();
      const problemText = await problem.innerText();
      log(`the Problems panel shows: ${problemText.replace(/\s+/g, ' ')}`);
      assert.match(problemText, /expected `Int`, found `String`/);
      await page.locator('.markers-panel .monaco-list-row', { hasText: 'main.emx' }).waitFor();

      // Revert the file; the Problems panel empties.
      await focusEditor(page, editor);
      await commandPalette(page, 'File: Revert File');
      await editor.locator('.view-lines').getByText('def broken').waitFor({ state: 'detached' });
      await page.locator('.markers-panel .monaco-list-row').first().waitFor({ state: 'detached' });
      log('the error is gone from the Problems panel after reverting the file');

      // Hover the fact `reviewer` where a rule matches on it.
      const use = locate(fs.readFileSync(mainFile, 'utf8'), 'reviewer == null');
      await goTo(page, editor, use.line, use.column, 'reviewer');
      const cursor = await editor.locator('.cursor').first().boundingBox();
      assert.ok(cursor, 'the cursor is visible');
      await page.mouse.move(cursor.x + 12, cursor.y + cursor.height / 2);
      const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content', { hasText: 'fact reviewer' });
      await hover.waitFor();
      const hoverText = await hover.innerText();
      log(`the hover shows: ${hoverText.replace(/\s+/g, ' ')}`);
      assert.match(hoverText, /fact reviewer: String\?/);
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');

      // Rename the fact with F2: every use in main.emx and in tests.emx follows.
      await focusEditor(page, editor);
      await goTo(page, editor, use.line, use.column, 'reviewer');
      await page.keyboard.press('F2');
      const renameInput = page.locator('.rename-box input');
      await renameInput.waitFor();
      assert.equal(await renameInput.inputValue(), 'reviewer');
      await renameInput.fill('approver');
      await page.keyboard.press('Enter');
      await renameInput.waitFor({ state: 'hidden' });
      await editor.locator('.view-lines').getByText('approver == null').waitFor();
      log('renamed reviewer to approver in the editor');

      // Save every file the rename touched, then ask cosmosc about the files on disk.
      await commandPalette(page, 'File: Save All');
      await waitFor(() => fs.readFileSync(mainFile, 'utf8').includes('approver: String?')
        && fs.readFileSync(testsFile, 'utf8').includes('approver == null'), 'the renamed files on disk');
      await page.locator('.tab.dirty').first().waitFor({ state: 'detached' });
      const mainText = fs.readFileSync(mainFile, 'utf8');
      const testsText = fs.readFileSync(testsFile, 'utf8');
      assert.doesNotMatch(mainText, /\breviewer\s*(:\s*String|==|!=|=)/, `main.emx still uses the fact reviewer:\n${mainText}`);
      assert.match(mainText, /reviewer: approver \?: "nobody"/, `the output map's key stays, its value is the renamed fact:\n${mainText}`);
      assert.match(testsText, /assert approver == "automatic"/);
      const check = run(cosmosc, ['check'], { cwd: project });
      log(`cosmosc check: ${(check.stdout + check.stderr).trim()}`);
      assert.equal(check.status, 0, `cosmosc check failed after the rename:\n${check.stdout}\n${check.stderr}`);
      assert.match(check.stdout + check.stderr, /0 errors, 0 warnings/);
      log('passed');
    })();
    steps.catch(() => undefined); // once the budget is spent, its failure is reported
    await Promise.race([budget, steps]);
  } catch (error) {
    failed = true;
    console.error(error);
    if (page) {
      fs.mkdirSync(screens, { recursive: true });
      const shot = path.join(screens, `failure-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
      await page.screenshot({ path: shot }).then(
        () => console.error(`screenshot: ${shot}`),
        (e) => console.error(`no screenshot: ${e.message}`),
      );
    }
    console.error(`--- code-server output\n${serverOutput.join('')}`);
    for (const log of findFiles(path.join(dirs.userData, 'logs'), (name) => name.includes('Emx Language Server'))) {
      console.error(`--- ${path.basename(log)}\n${fs.readFileSync(log, 'utf8')}`);
    }
  } finally {
    clearTimeout(budgetTimer);
    if (browser) await browser.close().catch(() => undefined);
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  log(failed ? 'FAILED' : 'ok');
  process.exitCode = failed ? 1 : 0;
}

/** The 1-based line and column where `needle` first occurs in `text`. */
function locate(text, needle) {
  const lines = text.split('\n');
  const index = lines.findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, `no ${needle} in main.emx`);
  return { line: index + 1, column: lines[index].indexOf(needle) + 1 };
}

/** The files under `dir` whose name passes `wanted`. */
function findFiles(dir, wanted) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && wanted(entry.name))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

/** Polls `condition` (a fact outside the browser, such as a file's content). */
async function waitFor(condition, what, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function focusEditor(page, editor) {
  await editor.locator('.view-lines').click();
}

/** Quick Open (Ctrl+P): types `query` and opens the entry labelled `label`. */
async function quickOpen(page, query, label) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(query);
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: label }).waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** Runs a command from the Command Palette (F1) by its title. */
async function commandPalette(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  // Enter runs the focused entry: wait until the filter has put the command there.
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** Go to Line (Ctrl+G) `line:column`; checks that the word there is `word`. */
async function goTo(page, editor, line, column, word) {
  await focusEditor(page, editor);
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await page.locator('.statusbar-item', { hasText: `Ln ${line}, Col ${column}` }).waitFor();
  await editor.locator('.view-lines').getByText(word).first().waitFor();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
