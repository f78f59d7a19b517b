// End-to-end tests of `cosmosc lsp` on real editor layouts: a workspace folder above
// the project (a monorepo), several workspace folders, a file opened from a project
// outside them, files in no project, renames that reach `test` blocks, the end of the
// session (`shutdown` with `"params": null`, then `exit`), and malformed frames.
// COSMOSC names the binary under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  InitializeRequest, InitializedNotification, DidOpenTextDocumentNotification,
  PublishDiagnosticsNotification, DefinitionRequest, HoverRequest, RenameRequest,
  ReferencesRequest, ShutdownRequest, ExitNotification,
} from 'vscode-languageserver-protocol/node.js';
import { at, offsetOf, applyEdits } from './text.mjs';

const cosmosc = process.env.COSMOSC;
if (!cosmosc) throw new Error('set COSMOSC to the cosmosc binary');
const here = path.dirname(fileURLToPath(import.meta.url));
const repository = path.resolve(here, '..', '..', '..');

const TYPES = 'type Probe { width: Int }\n';
const MAIN = `import media.types { Probe }

def area(p: Probe): Int {
    p.width * 2
}
`;

function tempDir(t) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-ws-')));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (relative path → text) under `dir`. */
function write(dir, files) {
  for (const [relative, text] of Object.entries(files)) {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

const uri = (file) => pathToFileURL(file).href;

/** A server initialized with `folders` (paths; `rootUri` is the first). */
async function session(t, folders, cache) {
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const child = spawn(cosmosc, ['lsp'], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const latest = new Map();
  const published = [];
  let waiters = [];
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    latest.set(p.uri, p.diagnostics);
    published.push(p);
    waiters = waiters.filter((w) => { if (w.predicate()) { w.resolve(); return false; } return true; });
  });
  conn.listen();
  t.after(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await conn.sendRequest(ShutdownRequest.type);
      await conn.sendNotification(ExitNotification.type);
    } catch { /* already gone */ }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    conn.dispose();
    if (child.exitCode === null) child.kill();
  });
  const rootUri = folders.length > 0 ? uri(folders[0]) : null;
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri, capabilities: {},
    workspaceFolders: folders.length > 0 ? folders.map((f) => ({ uri: uri(f), name: path.basename(f) })) : null,
  });
  conn.sendNotification(InitializedNotification.type, {});
  const waitFor = (predicate, what, timeout = 10000) => {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify([...latest])}`)), timeout);
      waiters.push({ predicate, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  };
  const open = (file, text) => conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: uri(file), languageId: 'emx', version: 1, text: text ?? fs.readFileSync(file, 'utf8') },
  });
  const codes = (file) => (latest.get(uri(file)) ?? []).map((d) => d.code);
  return { child, conn, latest, published, waitFor, open, codes };
}

test('a workspace folder above the project: the project is found and checked', async (t) => {
  const dir = tempDir(t);
  write(dir, {
    'services/encode/cosmos.toml': '[project]\nname = "encode"\n',
    'services/encode/src/main.emx': MAIN,
    'services/encode/src/media/types.emx': TYPES,
    // Never searched: build output and packages.
    'node_modules/pkg/cosmos.toml': '[project]\nname = "pkg"\n',
    'node_modules/pkg/src/broken.emx': 'import nowhere { X }\n',
    'services/encode/target/cosmos.toml': '[project]\nname = "built"\n',
    'services/encode/target/src/broken.emx': 'import nowhere { X }\n',
  });
  const s = await session(t, [dir], path.join(dir, 'cache'));
  const main = path.join(dir, 'services/encode/src/main.emx');
  s.open(main);
  await s.waitFor(() => s.latest.has(uri(main)), 'diagnostics of main.emx');
  assert.deepEqual(s.codes(main), [], 'no false E0101/E0104');
  const loc = await s.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: uri(main) }, position: at(MAIN, 'Probe)', 1) });
  assert.equal(loc.uri, uri(path.join(dir, 'services/encode/src/media/types.emx')));
  assert.deepEqual(loc.range.start, at(TYPES, 'Probe'));
  assert.ok(!s.published.some((p) => p.uri.includes('/node_modules/') || p.uri.includes('/target/')),
    JSON.stringify(s.published.map((p) => p.uri)));
});

test('several workspace folders: one analysis per project', async (t) => {
  const dir = tempDir(t);
  const other = MAIN.replace('p.width * 2', 'p.height + 1');
  write(dir, {
    'one/cosmos.toml': '[project]\nname = "one"\n',
    'one/src/main.emx': MAIN,
    'one/src/media/types.emx': TYPES,
    'two/cosmos.toml': '[project]\nname = "two"\n',
    'two/src/main.emx': other,
    'two/src/media/types.emx': 'type Probe { height: Int }\n',
  });
  const s = await session(t, [path.join(dir, 'one'), path.join(dir, 'two')], path.join(dir, 'cache'));
  const one = path.join(dir, 'one/src/main.emx');
  const two = path.join(dir, 'two/src/main.emx');
  s.open(one);
  s.open(two);
  await s.waitFor(() => s.latest.has(uri(one)) && s.latest.has(uri(two)), 'diagnostics of both');
  assert.deepEqual(s.codes(one), []);
  assert.deepEqual(s.codes(two), [], 'the same module name in another project is no clash');
  const loc = await s.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: uri(two) }, position: at(other, 'height', 1) });
  assert.equal(loc.uri, uri(path.join(dir, 'two/src/media/types.emx')));
});

test('a file opened from a project outside the workspace, and a file in no project', async (t) => {
  const dir = tempDir(t);
  write(dir, {
    'elsewhere/cosmos.toml': '[project]\nname = "elsewhere"\n',
    'elsewhere/src/main.emx': MAIN,
    'elsewhere/src/media/types.emx': TYPES,
    'workspace/notes.txt': 'no project here\n',
    'scratch/loose.emx': 'import nowhere { Thing }\n\ndef f(): Int {\n    unknown + 1\n}\n\ntype {\n',
  });
  const s = await session(t, [path.join(dir, 'workspace')], path.join(dir, 'cache'));
  const main = path.join(dir, 'elsewhere/src/main.emx');
  s.open(main);
  await s.waitFor(() => s.latest.has(uri(main)), 'diagnostics of main.emx');
  assert.deepEqual(s.codes(main), [], 'the nearest cosmos.toml above the file is loaded');
  const h = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uri(main) }, position: at(MAIN, 'width', 1) });
  assert.ok(h.contents.value.includes('width: Int'), JSON.stringify(h));
  const loose = path.join(dir, 'scratch/loose.emx');
  s.open(loose);
  await s.waitFor(() => s.latest.has(uri(loose)), 'diagnostics of loose.emx');
  const codes = s.codes(loose);
  assert.ok(codes.length > 0 && codes.every((c) => c === 'E0001'), `syntax errors only: ${codes}`);
});

test('renames reach test blocks, and the project still checks', async (t) => {
  const dir = tempDir(t);
  fs.cpSync(path.join(repository, 'examples/encode'), dir, { recursive: true });
  const tests = path.join(dir, 'src/tests.emx');
  const mainFile = path.join(dir, 'src/main.emx');
  const check = () => spawnSync(cosmosc, ['check', dir], { encoding: 'utf8' });
  assert.equal(check().status, 0, check().stderr);
  const s = await session(t, [dir], path.join(dir, 'cache'));
  s.open(tests);
  s.open(mainFile);
  await s.waitFor(() => s.latest.has(uri(tests)), 'diagnostics of tests.emx');
  const TESTS = fs.readFileSync(tests, 'utf8');
  // Hover and definition on `mock transcode`.
  const mockAt = at(TESTS, 'mock transcode', 6);
  const h = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uri(tests) }, position: mockAt });
  assert.ok(h && h.contents.value.includes('function transcode('), JSON.stringify(h));
  const def = await s.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: uri(tests) }, position: mockAt });
  assert.equal(def.uri, uri(mainFile));
  // References of the fact from an assert reach the workflow and every assert.
  const refs = await s.conn.sendRequest(ReferencesRequest.type, {
    textDocument: { uri: uri(tests) }, position: at(TESTS, 'reviewer ==', 1), context: { includeDeclaration: true },
  });
  // The declaration and five uses in main.emx; the two asserts that read it (not the
  // map key `reviewer:` nor the test's name).
  assert.equal(refs.filter((r) => r.uri === uri(mainFile)).length, 6, JSON.stringify(refs));
  assert.deepEqual(refs.filter((r) => r.uri === uri(tests)).map((r) => r.range.start.line),
    [at(TESTS, 'reviewer ==', 0, 0).line, at(TESTS, 'reviewer ==', 0, 1).line]);
  for (const [position, newName] of [[at(TESTS, 'reviewer ==', 1), 'approver'], [mockAt, 'encode']]) {
    const edit = await s.conn.sendRequest(RenameRequest.type, { textDocument: { uri: uri(tests) }, position, newName });
    assert.ok(edit.changes[uri(tests)]?.length > 0, `${newName}: the test block is edited`);
    for (const [fileUri, edits] of Object.entries(edit.changes)) {
      const file = fileURLToPath(fileUri);
      fs.writeFileSync(file, applyEdits(fs.readFileSync(file, 'utf8'), edits));
    }
    const after = check();
    assert.equal(after.status, 0, `after renaming to ${newName}: ${after.stdout}${after.stderr}`);
    // The editor holds the new texts too.
    for (const file of [tests, mainFile]) {
      s.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri: uri(file), version: Date.now() }, contentChanges: [{ text: fs.readFileSync(file, 'utf8') }],
      });
    }
  }
  const renamed = fs.readFileSync(tests, 'utf8');
  assert.ok(renamed.includes('mock encode(') && renamed.includes('approver == "automatic"'), renamed);
});

/** A server spoken to in raw frames, to send what a JSON-RPC library never would. */
function raw(t) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-raw-')));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const child = spawn(cosmosc, ['lsp'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, XDG_CACHE_HOME: dir } });
  t.after(() => { if (child.exitCode === null) child.kill(); });
  const messages = [];
  let buffer = Buffer.alloc(0);
  let waiters = [];
  child.stdout.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) break;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.slice(0, end).toString())[1]);
      if (buffer.length < end + 4 + length) break;
      messages.push(JSON.parse(buffer.slice(end + 4, end + 4 + length).toString()));
      buffer = buffer.slice(end + 4 + length);
    }
    waiters = waiters.filter((w) => { const m = messages.find(w.predicate); if (m) { w.resolve(m); return false; } return true; });
  });
  const send = (body) => {
    const bytes = Buffer.from(body);
    child.stdin.write(`Content-Length: ${bytes.length}\r\n\r\n`);
    child.stdin.write(bytes);
  };
  const receive = (predicate, what) => {
    const found = messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what}: ${JSON.stringify(messages)}`)), 10000);
      waiters.push({ predicate, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  };
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: performance.now() })));
  return { child, send, receive, exited, dir };
}

const initialize = (id, dir) => JSON.stringify({
  jsonrpc: '2.0', id, method: 'initialize', params: { processId: null, rootUri: uri(dir), capabilities: {} },
});

test('shutdown with "params": null, then exit: the process ends within 1 s without closing stdin', async (t) => {
  const s = raw(t);
  s.send(initialize(1, s.dir));
  await s.receive((m) => m.id === 1, 'initialize answer');
  s.send(JSON.stringify({ jsonrpc: '2.0', method: 'initialized', params: {} }));
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'shutdown', params: null }));
  const answer = await s.receive((m) => m.id === 2, 'shutdown answer');
  assert.equal(answer.error, undefined, JSON.stringify(answer));
  assert.equal(answer.result, null);
  const sent = performance.now();
  s.send(JSON.stringify({ jsonrpc: '2.0', method: 'exit' }));
  const timeout = new Promise((resolve) => setTimeout(() => resolve({ code: 'still running', at: performance.now() }), 3000));
  const { code, at: ended } = await Promise.race([s.exited, timeout]);
  assert.equal(code, 0, 'the process ended');
  assert.ok(ended - sent < 1000, `ended ${Math.round(ended - sent)} ms after exit`);
});

test('malformed frames are answered with JSON-RPC errors, and the server keeps serving', async (t) => {
  const s = raw(t);
  s.send(initialize(1, s.dir));
  await s.receive((m) => m.id === 1, 'initialize answer');
  s.send('{not json}');
  const parseError = await s.receive((m) => m.error?.code === -32700, 'a parse error');
  assert.equal(parseError.id, null);
  s.send('null');
  const invalid = await s.receive((m) => m.error?.code === -32600, 'an invalid request error');
  assert.equal(invalid.id, null);
  // Still serving: a request after the malformed frames is answered.
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'workspace/symbol', params: { query: '' } }));
  const symbols = await s.receive((m) => m.id === 3, 'the workspace/symbol answer');
  assert.deepEqual(symbols.result, []);
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'shutdown' }));
  await s.receive((m) => m.id === 4, 'shutdown answer');
  s.send(JSON.stringify({ jsonrpc: '2.0', method: 'exit' }));
  const { code } = await s.exited;
  assert.equal(code, 0);
});
