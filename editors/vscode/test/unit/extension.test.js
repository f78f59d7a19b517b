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
  // Every compiled module binds `vscode` when loaded: load them afresh against this mock.
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(path.dirname(extensionPath) + path.sep)) delete require.cache[key];
  }
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

test('the status bar item shows a failed start and opens the output when clicked', async (t) => {
  const { calls } = await activateWith(t, { 'emx.server.path': '/nonexistent/dir/cosmosc' });
  assert.equal(calls.statusItems.length, 1);
  const [item] = calls.statusItems;
  assert.equal(item.id, 'emx.serverStatus');
  assert.ok(item.visible, 'the item is shown');
  assert.equal(item.text, '$(error) Emx');
  assert.match(item.tooltip, /failed to start/);
  assert.match(item.tooltip, /does not exist/);
  assert.equal(item.backgroundColor.id, 'statusBarItem.errorBackground');
  assert.equal(item.command.command, 'emx.showOutput');
  assert.ok(calls.commands.has(item.command.command), 'the click runs a registered command');
});

test('the status follows the language client state', async (t) => {
  const { vscode } = createMockVscode({});
  const uninstall = installMockVscode(vscode);
  t.after(uninstall);
  const statusPath = path.resolve(__dirname, '..', '..', 'out', 'status.js');
  delete require.cache[statusPath];
  const { ServerStatusItem, statusFromClientState } = require(statusPath);
  const { State } = require('vscode-languageclient/node');
  assert.equal(statusFromClientState(State.Starting), 'starting');
  assert.equal(statusFromClientState(State.Running), 'running');
  assert.equal(statusFromClientState(State.Stopped), 'stopped');
  const status = new ServerStatusItem('emx.showOutput');
  assert.equal(status.status, 'stopped');
  assert.equal(status.item.text, '$(circle-slash) Emx');
  const shown = [];
  for (const state of [State.Starting, State.Running, State.Stopped]) {
    status.set(statusFromClientState(state));
    shown.push([status.status, status.item.text, status.item.backgroundColor]);
  }
  assert.deepEqual(shown, [
    ['starting', '$(sync~spin) Emx', undefined],
    ['running', '$(check) Emx', undefined],
    ['stopped', '$(circle-slash) Emx', undefined],
  ]);
  status.set('failed', 'boom');
  assert.match(status.item.tooltip, /failed to start\nboom/);
  status.dispose();
  assert.ok(status.item.disposed);
});

test('the cosmosc task provider offers check per workspace folder and resolves tasks.json entries', async (t) => {
  const { calls, vscode } = await activateWith(t, { 'emx.server.path': '/nonexistent/dir/cosmosc' });
  const provider = calls.taskProviders.get('cosmosc');
  assert.ok(provider, 'a provider is registered for type cosmosc');
  const folders = ['/ws/a', '/ws/b'].map((p, index) => ({ uri: vscode.Uri.file(p), name: path.basename(p), index }));
  vscode.workspace.workspaceFolders = folders;
  const tasks = provider.provideTasks();
  assert.equal(tasks.length, 2);
  tasks.forEach((task, i) => {
    assert.deepEqual(task.definition, { type: 'cosmosc', command: 'check' });
    assert.equal(task.scope, folders[i]);
    assert.equal(`${task.source} ${task.name}`, 'cosmosc check');
    assert.deepEqual(task.problemMatchers, ['$cosmosc']);
    assert.equal(task.group, vscode.TaskGroup.Build);
    // The configured path is used even when it is missing, so the task says what failed.
    assert.equal(task.execution.process, '/nonexistent/dir/cosmosc');
    assert.deepEqual(task.execution.args, ['check']);
    assert.equal(task.execution.options.cwd, folders[i].uri.fsPath);
  });

  const fmt = provider.resolveTask(new vscode.Task({ type: 'cosmosc', command: 'fmt', dir: 'sub/dir' }, folders[1]));
  assert.deepEqual(fmt.execution.args, ['fmt']);
  assert.equal(fmt.execution.options.cwd, path.resolve('/ws/b', 'sub/dir'));
  assert.deepEqual(fmt.problemMatchers, []);
  const testTask = provider.resolveTask(new vscode.Task({ type: 'cosmosc', command: 'test' }, folders[0]));
  assert.deepEqual(testTask.execution.args, ['test']);
  assert.equal(testTask.group, vscode.TaskGroup.Test);
  assert.equal(provider.resolveTask(new vscode.Task({ type: 'cosmosc', command: 'deploy' }, folders[0])), undefined);
  assert.equal(provider.resolveTask(new vscode.Task({ type: 'shell', command: 'check' }, folders[0])), undefined);
});

test('cosmos.runTest, the command of the server\'s "Run test" lens, runs that one test in its project', async (t) => {
  const { calls, vscode } = await activateWith(t, { 'emx.server.path': '/nonexistent/dir/cosmosc' });
  const run = calls.commands.get('cosmos.runTest');
  assert.ok(run, 'the command is registered');
  await run('encodes h264', '/ws/project');
  assert.equal(calls.tasksRun.length, 1);
  const [task] = calls.tasksRun;
  // `--exact`: `--filter` alone would also run every test whose name contains this one.
  assert.equal(task.execution.process, '/nonexistent/dir/cosmosc');
  assert.deepEqual(task.execution.args, ['test', '--filter', 'encodes h264', '--exact']);
  assert.equal(task.execution.options.cwd, '/ws/project');
  assert.equal(task.name, 'test encodes h264');
  assert.equal(task.group, vscode.TaskGroup.Test);
});

test('the status bar follows the running client: starting, running, then stopped', async (t) => {
  // The client is real; only its start and stop are replaced, so that no
  // server process is needed. They move the client through the states the
  // real ones do, and the extension's state listener updates the item.
  const { vscode, calls } = createMockVscode({ 'emx.server.path': process.execPath });
  // Constructing a client subscribes to many editor events: give every `on…` an inert one.
  const withEvents = (ns) =>
    new Proxy(ns, {
      get: (target, prop) =>
        prop in target || typeof prop !== 'string' || !/^on[A-Z]/.test(prop) ? target[prop] : () => new vscode.Disposable(() => {}),
    });
  for (const ns of ['workspace', 'window', 'languages', 'notebooks']) vscode[ns] = withEvents(vscode[ns] ?? {});
  const uninstall = installMockVscode(vscode);
  t.after(uninstall);
  // vscode-languageclient binds `vscode` when loaded: load it and the extension afresh.
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(path.dirname(extensionPath) + path.sep) || key.includes(`${path.sep}vscode-languageclient${path.sep}`)) {
      delete require.cache[key];
    }
  }
  const { LanguageClient } = require('vscode-languageclient/node');
  const seen = [];
  let item;
  LanguageClient.prototype.start = async function () {
    this.$state = 'starting';
    seen.push(item.text);
    this.$state = 'running';
  };
  LanguageClient.prototype.stop = async function () {
    this.$state = 'stopping';
    this.$state = 'stopped';
  };
  LanguageClient.prototype.dispose = async function () {};
  t.after(() => {
    for (const key of Object.keys(require.cache)) {
      if (key.includes(`${path.sep}vscode-languageclient${path.sep}`)) delete require.cache[key];
    }
  });
  const createItem = vscode.window.createStatusBarItem;
  vscode.window.createStatusBarItem = (...args) => (item = createItem(...args));

  const ext = require(extensionPath);
  await ext.activate(fakeContext());
  assert.equal(calls.errors.length, 0, JSON.stringify(calls.errors));
  assert.deepEqual(seen, ['$(sync~spin) Emx'], 'starting while the client starts');
  assert.equal(item.text, '$(check) Emx');
  assert.match(item.tooltip, /running/);
  await ext.deactivate();
  assert.equal(item.text, '$(circle-slash) Emx');
  assert.match(item.tooltip, /stopped/);
});
