'use strict';
// Packages the extension with vsce and checks the .vsix: vsce runs without a
// warning, the package holds the esbuild bundle and the files VS Code needs and
// nothing else (no node_modules), and the bundled client activates on its own.

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

test('vsce packages the extension without a warning', { timeout: 300_000 }, () => {
  if (process.env.EMX_VSIX) return; // a prebuilt package was given
  const vsce = require.resolve('@vscode/vsce/vsce');
  const result = spawnSync(process.execPath, [vsce, 'package', '--out', vsixPath], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.status, 0, `vsce package failed:\n${output}`);
  assert.ok(fs.existsSync(vsixPath));
  assert.doesNotMatch(output, /WARNING|warn/i, `vsce printed a warning:\n${output}`);
  assert.match(output, /dist\/extension\.js/, 'the prepublish step bundled the extension');
});

test('the vsix holds the bundle, grammars, schema, icons and nothing else', () => {
  const zip = readZip(vsixPath);
  const files = zip.names.filter((n) => !n.endsWith('/')).sort();
  assert.deepEqual(files, [
    '[Content_Types].xml',
    'extension.vsixmanifest',
    'extension/LICENSE.txt',
    'extension/dist/extension.js',
    'extension/icons/emx-file-dark.svg',
    'extension/icons/emx-file-light.svg',
    'extension/icons/emx.png',
    'extension/language-configuration.json',
    'extension/package.json',
    'extension/readme.md',
    'extension/schemas/cosmos.schema.json',
    'extension/snippets/emx.json',
    'extension/syntaxes/emx.markdown.tmLanguage.json',
    'extension/syntaxes/emx.tmLanguage.json',
  ]);

  const manifest = JSON.parse(zip.read('extension/package.json').toString('utf8'));
  assert.equal(manifest.name, 'emx');
  assert.equal(manifest.main, './dist/extension.js');
  const grammar = JSON.parse(zip.read('extension/syntaxes/emx.tmLanguage.json').toString('utf8'));
  assert.equal(grammar.scopeName, 'source.emx');
  const schema = JSON.parse(zip.read('extension/schemas/cosmos.schema.json').toString('utf8'));
  assert.equal(schema.title, 'cosmos.toml');
  const bundle = zip.read('extension/dist/extension.js').toString('utf8');
  assert.ok(!/require\(["']vscode-languageclient/.test(bundle), 'vscode-languageclient is bundled, not required');
  const vsixManifest = zip.read('extension.vsixmanifest').toString('utf8');
  assert.match(vsixManifest, /Id="emx"/);
  assert.match(vsixManifest, /Publisher="cosmos"/);
  assert.match(vsixManifest, /Microsoft\.VisualStudio\.Services\.Icons\.Default" Path="extension\/icons\/emx\.png"/);
});

test('the packaged bundle activates with no node_modules', async (t) => {
  const zip = readZip(vsixPath);
  const dest = path.join(work, 'unpacked');
  for (const name of zip.names) {
    if (name.endsWith('/')) continue;
    const file = path.join(dest, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, zip.read(name));
  }
  const main = path.join(dest, 'extension', 'dist', 'extension.js');
  const before = new Set(Object.keys(require.cache));

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
  assert.equal(calls.statusItems[0].text, '$(error) Emx');
  assert.ok(calls.taskProviders.has('cosmosc'));
  const loaded = Object.keys(require.cache).filter((k) => !before.has(k));
  assert.deepEqual(loaded, [main], 'the bundle loads no other module from disk');
});
