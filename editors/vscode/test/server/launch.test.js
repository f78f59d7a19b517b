'use strict';
// The extension's launch of the real server: the client the extension builds
// (out/extension.js, against the stand-in `vscode` module) spawns `cosmosc` through
// vscode-languageclient's own server-options code, which appends `--stdio` for
// TransportKind.stdio; the server must accept it and answer `initialize`.
// COSMOSC names the binary under test (`cargo test -p cosmosc --test lsp` sets it).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { createMockVscode, installMockVscode } = require('../helpers/mock-vscode');

const extensionPath = path.resolve(__dirname, '..', '..', 'out', 'extension.js');
const cosmosc = process.env.COSMOSC;

/**
 * Lets the language client's constructor register its features against the stand-in:
 * every `onDid…`/`onWill…` event of the namespaces it touches is an inert event.
 */
function withEvents(vscode) {
  const inert = () => ({ dispose() {} });
  for (const name of ['workspace', 'window', 'languages', 'notebooks', 'extensions', 'commands']) {
    const namespace = vscode[name] && typeof vscode[name] === 'object' ? vscode[name] : {};
    vscode[name] = new Proxy(namespace, {
      get(target, prop) {
        if (prop in target) return target[prop];
        if (typeof prop === 'string' && /^on[A-Z]/.test(prop)) return inert;
        return undefined;
      },
    });
  }
  return vscode;
}

test('the client the extension builds starts cosmosc and gets an answer', { skip: !cosmosc && 'set COSMOSC to the cosmosc binary' }, async (t) => {
  const { vscode, calls } = createMockVscode({});
  const uninstall = installMockVscode(withEvents(vscode));
  t.after(uninstall);
  delete require.cache[extensionPath];
  const ext = require(extensionPath);
  const { createMessageConnection } = require('vscode-jsonrpc/node');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emx-launch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'cosmos.toml'), '[project]\nname = "launch"\n');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'main.emx'), 'def one(): Int {\n    1\n}\n');

  // The same client as the extension's startServer, with the default arguments.
  const client = ext.createClient(cosmosc, ['lsp'], dir);
  const transports = await client.createMessageTransports('utf-8');
  const server = client._serverProcess;
  assert.ok(server && server.pid, 'the server process was spawned');
  assert.deepEqual(server.spawnargs.slice(1), ['lsp', '--stdio'], 'the client appends --stdio');
  const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (server.exitCode === null) server.kill();
  });

  const conn = createMessageConnection(transports.reader, transports.writer);
  conn.listen();
  t.after(() => conn.dispose());
  const failed = exited.then((code) => {
    throw new Error(`cosmosc exited with ${code} before answering: ${calls.output.join('')}`);
  });
  const rootUri = pathToFileURL(fs.realpathSync(dir)).href;
  const init = await Promise.race([
    conn.sendRequest('initialize', { processId: process.pid, rootUri, capabilities: {}, workspaceFolders: [{ uri: rootUri, name: 'launch' }] }),
    failed,
  ]);
  assert.equal(init.serverInfo.name, 'cosmosc lsp');
  assert.ok(init.capabilities.hoverProvider);
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 2000))]);
  assert.equal(code, 0, 'the server ends after exit');
  assert.ok(!calls.output.join('').includes('unexpected argument'), calls.output.join(''));
});
