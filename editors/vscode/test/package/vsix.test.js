'use strict';
// Packages the extension with vsce and checks the .vsix: the files VS Code
// needs are in it, development files are not, and the packaged client loads
// its runtime dependencies from inside the package.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readZip } = require('../helpers/zip');
const { createMockVscode, installMockVscode, fakeContext } = require('../helpers/mock-vscode');

const root = path.resolve(__dirname, '..', '..');
const pkg = require(path.join(root, 'package.json'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'emx-vsix-'));
const vsixPath = process.env.EMX_VSIX || path.join(work, `${pkg.name}-${pkg.version}.vsix`);

test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test('vsce packages the extension', { timeout: 300_000 }, () => {
  if (process.env.EMX_VSIX) return; // a prebuilt package was given
  const vsce = require.resolve('@vscode/vsce/vsce');
  const result = spawnSync(process.execPath, [vsce, 'package', '--out', vsixPath], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(result.status, 0, `vsce package failed:\n${result.stdout}\n${result.stderr}`);
  assert.ok(fs.existsSync(vsixPath));
});

test('the vsix holds the manifest, grammar, client and runtime dependencies', () => {
  const zip = readZip(vsixPath);
  const names = new Set(zip.names);
  const required = [
    '[Content_Types].xml',
    'extension.vsixmanifest',
    'extension/package.json',
    'extension/readme.md',
    'extension/LICENSE.txt',
    'extension/language-configuration.json',
    'extension/syntaxes/emx.tmLanguage.json',
    'extension/snippets/emx.json',
    'extension/out/extension.js',
    'extension/out/serverPath.js',
    'extension/node_modules/vscode-languageclient/package.json',
    'extension/node_modules/vscode-languageclient/node.js',
    'extension/node_modules/vscode-languageclient/lib/node/main.js',
    'extension/node_modules/vscode-languageserver-protocol/package.json',
    'extension/node_modules/vscode-jsonrpc/package.json',
    'extension/node_modules/vscode-languageserver-types/package.json',
    'extension/node_modules/semver/package.json',
  ];
  for (const name of required) assert.ok(names.has(name), `${name} is in the vsix`);
  const minimatch = zip.names.filter((n) => /node_modules\/minimatch\/package\.json$/.test(n));
  assert.ok(minimatch.length >= 1, 'minimatch (a languageclient dependency) is in the vsix');

  for (const name of zip.names) {
    assert.ok(!name.startsWith('extension/src/'), `${name}: sources stay out`);
    assert.ok(!name.startsWith('extension/test/'), `${name}: tests stay out`);
    assert.ok(!name.endsWith('.vsix'), `${name}: no nested vsix`);
    assert.ok(!/node_modules\/(typescript|@vscode\/vsce|vscode-tmgrammar-test|@types)\//.test(name), `${name}: dev dependency`);
  }

  const manifest = JSON.parse(zip.read('extension/package.json').toString('utf8'));
  assert.equal(manifest.name, 'emx');
  assert.equal(manifest.main, './out/extension.js');
  const grammar = JSON.parse(zip.read('extension/syntaxes/emx.tmLanguage.json').toString('utf8'));
  assert.equal(grammar.scopeName, 'source.emx');
  const vsixManifest = zip.read('extension.vsixmanifest').toString('utf8');
  assert.match(vsixManifest, /Id="emx"/);
  assert.match(vsixManifest, /Publisher="cosmos"/);
});

test('the packaged client loads vscode-languageclient from inside the package', async (t) => {
  const zip = readZip(vsixPath);
  const dest = path.join(work, 'unpacked');
  for (const name of zip.names) {
    if (name.endsWith('/')) continue;
    const file = path.join(dest, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, zip.read(name));
  }
  const extensionDir = path.join(dest, 'extension');
  const main = path.join(extensionDir, 'out', 'extension.js');
  const resolved = require.resolve('vscode-languageclient/node', { paths: [path.dirname(main)] });
  assert.ok(resolved.startsWith(extensionDir + path.sep), `resolved inside the package: ${resolved}`);

  const { vscode, calls } = createMockVscode({ 'emx.server.path': path.join(work, 'no-such-cosmosc') });
  const uninstall = installMockVscode(vscode);
  t.after(uninstall);
  const ext = require(main);
  assert.equal(typeof ext.activate, 'function');
  assert.equal(typeof ext.deactivate, 'function');
  await ext.activate(fakeContext());
  await ext.deactivate();
  assert.equal(calls.errors.length, 1);
  assert.match(calls.errors[0].msg, /emx\.server\.path/);
  const loaded = Object.keys(require.cache).filter((k) => k.includes(`${path.sep}vscode-languageclient${path.sep}`));
  assert.ok(loaded.length > 0 && loaded.every((k) => k.startsWith(extensionDir)), 'languageclient came from the package');
});
