'use strict';
// The server lookup (compiled from src/serverPath.ts; run `npm run compile` first).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const sp = require('../../out/serverPath.js');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emx-server-path-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function makeExecutable(dir, name, mode = 0o755) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n');
  fs.chmodSync(file, mode);
  return file;
}

test('a bare name is found on PATH', (t) => {
  const a = tempDir(t);
  const b = tempDir(t);
  const exe = makeExecutable(b, 'cosmosc');
  const r = sp.resolveServerCommand('cosmosc', { env: { PATH: [a, b].join(':') }, platform: 'linux' });
  assert.deepEqual(r, { found: true, command: exe, configured: 'cosmosc' });
});

test('an empty setting falls back to cosmosc', (t) => {
  const dir = tempDir(t);
  const exe = makeExecutable(dir, 'cosmosc');
  const r = sp.resolveServerCommand('  ', { env: { PATH: dir }, platform: 'linux' });
  assert.equal(r.found && r.command, exe);
});

test('a missing name reports PATH', () => {
  const r = sp.resolveServerCommand('cosmosc-not-installed', { env: { PATH: '/nonexistent' }, platform: 'linux' });
  assert.equal(r.found, false);
  assert.match(r.reason, /not found on PATH/);
});

test('a file without the executable bit is not accepted', (t) => {
  const dir = tempDir(t);
  makeExecutable(dir, 'cosmosc', 0o644);
  const onPath = sp.resolveServerCommand('cosmosc', { env: { PATH: dir }, platform: 'linux' });
  assert.equal(onPath.found, false);
  const absolute = sp.resolveServerCommand(path.join(dir, 'cosmosc'), { env: {}, platform: 'linux' });
  assert.equal(absolute.found, false);
  assert.match(absolute.reason, /not an executable file/);
});

test('absolute, relative, ~ and ${workspaceFolder} paths', (t) => {
  const ws = tempDir(t);
  fs.mkdirSync(path.join(ws, 'target', 'debug'), { recursive: true });
  const exe = makeExecutable(path.join(ws, 'target', 'debug'), 'cosmosc');
  const opts = { env: { PATH: '' }, platform: 'linux', cwd: ws, workspaceFolder: ws, home: ws };
  assert.equal(sp.resolveServerCommand(exe, opts).command, exe);
  assert.equal(sp.resolveServerCommand('./target/debug/cosmosc', opts).command, exe);
  assert.equal(sp.resolveServerCommand('target/debug/cosmosc', opts).command, exe);
  assert.equal(sp.resolveServerCommand('~/target/debug/cosmosc', opts).command, exe);
  assert.equal(sp.resolveServerCommand('${workspaceFolder}/target/debug/cosmosc', opts).command, exe);
  assert.equal(sp.resolveServerCommand('${userHome}/target/debug/cosmosc', opts).command, exe);
  const missing = sp.resolveServerCommand('/no/such/dir/cosmosc', opts);
  assert.equal(missing.found, false);
  assert.match(missing.reason, /does not exist/);
});

test('${env:NAME} is expanded', (t) => {
  const dir = tempDir(t);
  const exe = makeExecutable(dir, 'cosmosc');
  const r = sp.resolveServerCommand('${env:COSMOS_HOME}/cosmosc', { env: { COSMOS_HOME: dir }, platform: 'linux' });
  assert.equal(r.command, exe);
});

test('Windows: PATHEXT is tried for bare names', (t) => {
  const dir = tempDir(t);
  const exe = path.join(dir, 'cosmosc.EXE');
  fs.writeFileSync(exe, '');
  // Use ':'-free directories; on Windows PATH entries are separated by ';'.
  const r = sp.resolveServerCommand('cosmosc', { env: { PATH: `C:\\nowhere;${dir}`, PATHEXT: '.COM;.EXE' }, platform: 'win32' });
  assert.equal(r.found, true);
});

test('server arguments default to ["lsp"]', () => {
  assert.deepEqual(sp.serverArgs(undefined), ['lsp']);
  assert.deepEqual(sp.serverArgs('lsp'), ['lsp']);
  assert.deepEqual(sp.serverArgs([1]), ['lsp']);
  assert.deepEqual(sp.serverArgs([]), []);
  assert.deepEqual(sp.serverArgs(['lsp', '--log', 'debug']), ['lsp', '--log', 'debug']);
});

test('messages name the setting and how to install cosmosc', () => {
  const missing = sp.missingServerMessage('cosmosc', "'cosmosc' was not found on PATH");
  assert.match(missing, /emx\.server\.path/);
  assert.match(missing, /cargo install --path cli/);
  const enoent = Object.assign(new Error('spawn cosmosc ENOENT'), { code: 'ENOENT' });
  const spawnFailed = sp.startFailedMessage('/usr/bin/cosmosc', ['lsp'], enoent);
  assert.match(spawnFailed, /emx\.server\.path/);
  assert.match(spawnFailed, /ENOENT/);
  const other = sp.startFailedMessage('/usr/bin/cosmosc', ['lsp'], new Error('exited with code 2'));
  assert.match(other, /exited with code 2/);
  assert.match(other, /emx\.server\.path/);
  assert.match(other, /emx\.server\.args/);
});
