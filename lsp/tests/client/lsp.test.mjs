// End-to-end tests of `cosmosc lsp` over stdio, with the JSON-RPC and protocol
// packages VS Code itself is built on. COSMOSC names the binary under test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  InitializeRequest, InitializedNotification, DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification, PublishDiagnosticsNotification,
  DocumentSymbolRequest, DefinitionRequest, HoverRequest, CompletionRequest,
  ShutdownRequest, ExitNotification,
} from 'vscode-languageserver-protocol/node.js';

const cosmosc = process.env.COSMOSC;
if (!cosmosc) throw new Error('set COSMOSC to the cosmosc binary');

const TYPES = `/** What a probe found. */
type Inspection { width: Int, height: Int }

enum Codec { H264, HEVC }
`;

const MAIN = `import media.types { Inspection, Codec }

/** Probes a source file. */
function inspect(url: String): Inspection {
    command "probe"
}

workflow Encode {
    input {
        source: String
    }
    facts {
        inspection: Inspection?
        codec: Codec = Codec.H264
        note: String = "café"
    }
    rule "inspect source" {
        match { inspection == null && codec == Codec.H264 }
        action { inspect(url: source) }
        reaction { log("é😀日本"); inspection = result }
    }
    complete when { note.size() > 0 }
}
`;

let dir, child, conn, mainUri, typesUri;
const versions = new Map();
const latest = new Map();
let waiters = [];

function errors(uri) {
  return (latest.get(uri) ?? []).filter((d) => d.severity === 1);
}

function waitFor(predicate, what, timeout = 10000) {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify([...latest])}`)), timeout);
    waiters.push({ predicate, resolve: () => { clearTimeout(timer); resolve(); } });
  });
}

function change(uri, text) {
  const version = (versions.get(uri) ?? 1) + 1;
  versions.set(uri, version);
  conn.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version }, contentChanges: [{ text }],
  });
}

/** The position of the `n`th occurrence of `needle` in `text`, plus `delta` characters (UTF-16, as JS strings count). */
function at(text, needle, delta = 0, n = 0) {
  let index = -1;
  for (let i = 0; i <= n; i++) index = text.indexOf(needle, index + 1);
  assert.ok(index >= 0, `no ${needle}`);
  const before = text.slice(0, index + delta);
  const line = before.split('\n').length - 1;
  const character = before.length - before.lastIndexOf('\n') - 1;
  return { line, character };
}

function hoverText(h) {
  return h?.contents?.value ?? '';
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-lsp-'));
  fs.writeFileSync(path.join(dir, 'cosmos.toml'), '[project]\nname = "lsp-test"\n');
  fs.mkdirSync(path.join(dir, 'src', 'media'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', 'media', 'types.emx'), TYPES);
  fs.writeFileSync(path.join(dir, 'src', 'main.emx'), MAIN);
  mainUri = pathToFileURL(fs.realpathSync(path.join(dir, 'src', 'main.emx'))).href;
  typesUri = pathToFileURL(fs.realpathSync(path.join(dir, 'src', 'media', 'types.emx'))).href;

  child = spawn(cosmosc, ['lsp'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    latest.set(p.uri, p.diagnostics);
    waiters = waiters.filter((w) => { if (w.predicate()) { w.resolve(); return false; } return true; });
  });
  conn.listen();
  const rootUri = pathToFileURL(fs.realpathSync(dir)).href;
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri, capabilities: {},
    workspaceFolders: [{ uri: rootUri, name: 'lsp-test' }],
  });
  assert.ok(init.capabilities.hoverProvider);
  conn.sendNotification(InitializedNotification.type, {});
  for (const [uri, text] of [[mainUri, MAIN], [typesUri, TYPES]]) {
    versions.set(uri, 1);
    conn.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'emx', version: 1, text },
    });
  }
  await waitFor(() => latest.has(mainUri) && latest.has(typesUri), 'first diagnostics');
});

after(async () => {
  if (conn) {
    await conn.sendRequest(ShutdownRequest.type);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await conn.sendNotification(ExitNotification.type);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    conn.dispose();
  }
  if (child && child.exitCode === null) child.kill();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the project starts without errors', async () => {
  await waitFor(() => errors(mainUri).length === 0 && errors(typesUri).length === 0, 'a clean project');
});

test('an error appears with its code and disappears after the fix', async () => {
  const broken = MAIN.replace('inspection = result', 'inspection = 42');
  change(mainUri, broken);
  await waitFor(() => errors(mainUri).length > 0, 'an error in main.emx');
  const d = errors(mainUri)[0];
  assert.match(String(d.code), /^E\d{4}$/);
  assert.ok(d.codeDescription.href.includes('diagnostics.md#'));
  assert.equal(d.range.start.line, at(broken, '42').line);
  change(mainUri, MAIN);
  await waitFor(() => errors(mainUri).length === 0, 'the error to go');
});

test('changing an imported file updates the importer', async () => {
  change(typesUri, TYPES.replace('type Inspection', 'type Probe'));
  await waitFor(() => errors(mainUri).some((d) => d.message.includes('Inspection')), 'an import error in main.emx');
  change(typesUri, TYPES);
  await waitFor(() => errors(mainUri).length === 0, 'main.emx clean again');
});

test('document symbols outline the workflow', async () => {
  const symbols = await conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: mainUri } });
  const names = symbols.map((s) => s.name);
  assert.deepEqual(names, ['inspect', 'Encode']);
  const workflow = symbols[1];
  assert.deepEqual(workflow.children.map((c) => c.name), ['source', 'inspection', 'codec', 'note', 'inspect source']);
  const types = await conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: typesUri } });
  assert.deepEqual(types.map((s) => s.name), ['Inspection', 'Codec']);
  assert.deepEqual(types[1].children.map((c) => c.name), ['H264', 'HEVC']);
});

test('go to definition across files, enum members, inputs and facts', async () => {
  const def = (pos) => conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: mainUri }, position: pos });
  let loc = await def(at(MAIN, 'Inspection?', 2));
  assert.equal(loc.uri, typesUri);
  assert.deepEqual(loc.range.start, at(TYPES, 'Inspection {'));
  loc = await def(at(MAIN, 'Codec.H264', 7, 1));
  assert.equal(loc.uri, typesUri);
  assert.deepEqual(loc.range.start, at(TYPES, 'H264'));
  loc = await def(at(MAIN, 'url: source', 6));
  assert.equal(loc.uri, mainUri);
  assert.deepEqual(loc.range.start, at(MAIN, 'source: String'));
  loc = await def(at(MAIN, 'inspection == null', 1));
  assert.deepEqual(loc.range.start, at(MAIN, 'inspection: Inspection?'));
  loc = await def(at(MAIN, 'inspect(url', 1));
  assert.deepEqual(loc.range.start, at(MAIN, 'inspect(url: String)'));
});

test('hover shows signatures, docs, types, built-ins and rule sets', async () => {
  const hover = async (pos) => hoverText(await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mainUri }, position: pos }));
  let text = await hover(at(MAIN, 'inspect(url: source', 2));
  assert.ok(text.includes('function inspect(url: String): Inspection'), text);
  assert.ok(text.includes('Probes a source file.'), text);
  text = await hover(at(MAIN, 'inspection == null', 2));
  assert.ok(text.includes('fact inspection: Inspection?'), text);
  text = await hover(at(MAIN, 'size()', 1));
  assert.ok(text.includes('size(): Int'), text);
  assert.ok(text.includes('number of characters'), text);
  text = await hover(at(MAIN, '"inspect source"', 3));
  assert.ok(text.includes('reads: `codec`, `inspection`'), text);
  assert.ok(text.includes('writes: `inspection`'), text);
  text = await hover(at(MAIN, 'Inspection, Codec', 2));
  assert.ok(text.includes('type Inspection'), text);
  assert.ok(text.includes('What a probe found.'), text);
});

test('positions after non-ASCII text are UTF-16', async () => {
  // On the line with `é😀日本`, the fact after it: JS string indices are UTF-16.
  const pos = at(MAIN, 'inspection = result', 3);
  const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mainUri }, position: pos });
  assert.ok(hoverText(h).includes('fact inspection'), hoverText(h));
  assert.deepEqual(h.range.start, at(MAIN, 'inspection = result'));
  assert.deepEqual(h.range.end, at(MAIN, 'inspection = result', 'inspection'.length));
});

test('half-typed text never crashes the server, and requests see the new text', async () => {
  const halves = [
    MAIN.replace('complete when { note.size() > 0 }', 'complete when { note. }'),
    MAIN.slice(0, MAIN.indexOf('rule "inspect')),
    'workflow {{{ "unterminated',
    '',
    MAIN.replace('😀', '😀 ${'),
  ];
  for (const half of halves) {
    change(mainUri, half);
    for (let i = 0; i < half.length; i += 37) {
      const before = half.slice(0, i);
      const position = { line: before.split('\n').length - 1, character: before.length - before.lastIndexOf('\n') - 1 };
      await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mainUri }, position });
      await conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: mainUri }, position });
      await conn.sendRequest(CompletionRequest.type, { textDocument: { uri: mainUri }, position });
    }
    await conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: mainUri } });
  }
  // Completion after `.` on a half-typed line, from the text just sent.
  const dotted = halves[0];
  change(mainUri, dotted);
  const items = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri: mainUri }, position: at(dotted, 'note. ', 5) });
  const labels = items.map((i) => i.label);
  assert.ok(labels.includes('size') && labels.includes('toUpperCase'), labels.join(','));
  // Facts and inputs, and context keywords, in a body.
  const inMatch = MAIN.replace('match { inspection == null', 'match { inspection == null && ');
  change(mainUri, inMatch);
  const body = (await conn.sendRequest(CompletionRequest.type, { textDocument: { uri: mainUri }, position: at(inMatch, '&& ', 3) })).map((i) => i.label);
  assert.ok(body.includes('inspection') && body.includes('source') && body.includes('note'), body.join(','));
  assert.ok(!body.includes('retry'), 'retry only in error');
  // A request right after a change sees the new text.
  const renamed = MAIN.replaceAll('note', 'remark');
  change(mainUri, renamed);
  const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mainUri }, position: at(renamed, 'remark.size', 1) });
  assert.ok(hoverText(h).includes('fact remark: String'), hoverText(h));
  change(mainUri, MAIN);
  await waitFor(() => errors(mainUri).length === 0, 'main.emx clean at the end');
});
