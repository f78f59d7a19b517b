'use strict';
// Loads the compiled client (out/extension.js) against a mock `vscode` module
// and checks what a user sees when the server executable is missing.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { createMockVscode, installMockVscode, fakeContext } = require('../helpers/mock-vscode');

const extensionPath = path.resolve(__dirname, '..', '..', 'out', 'extension.js');

async function activateWith(t, settings) {
  const { vscode, calls } = createMockVscode(settings);
  const uninstall = installMockVscode(vscode);
  t.after(uninstall);
  delete require.cache[extensionPath];
  const ext = require(extensionPath);
  const context = fakeContext();
  await ext.activate(context);
  t.after(() => ext.deactivate());
  return { ext, calls, context, vscode };
}

test('a missing server shows an error naming emx.server.path', async (t) => {
  const { calls, context } = await activateWith(t, { 'emx.server.path': '/nonexistent/dir/cosmosc' });
  assert.equal(calls.errors.length, 1);
  const { msg, items } = calls.errors[0];
  assert.match(msg, /emx\.server\.path/);
  assert.match(msg, /\/nonexistent\/dir\/cosmosc/);
  assert.match(msg, /does not exist/);
  assert.match(msg, /cargo install --path cli/);
  assert.deepEqual(items, ['Open Settings', 'Show Output']);
  assert.ok(calls.output.some((line) => line.includes('emx.server.path')), 'the output channel has the message');
  assert.ok(context.subscriptions.length >= 4);
});

test('a bare name missing from PATH is reported, and restart retries', async (t) => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.after(() => {
    process.env.PATH = saved;
  });
  const { calls } = await activateWith(t, { 'emx.server.path': 'cosmosc-missing' });
  assert.match(calls.errors[0].msg, /'cosmosc-missing' was not found on PATH/);
  assert.ok(calls.commands.has('emx.restartServer'));
  assert.ok(calls.commands.has('emx.showOutput'));
  const started = await calls.commands.get('emx.restartServer')();
  assert.equal(started, false);
  assert.equal(calls.errors.length, 2);
});

test('the default setting looks for cosmosc', async (t) => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.after(() => {
    process.env.PATH = saved;
  });
  const { calls } = await activateWith(t, {});
  assert.match(calls.errors[0].msg, /"emx\.server\.path" is "cosmosc"/);
});
