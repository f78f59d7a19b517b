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
  ReferencesRequest, PrepareRenameRequest, RenameRequest, DocumentFormattingRequest,
  WorkspaceSymbolRequest, SignatureHelpRequest, InlayHintRequest,
  SemanticTokensRequest, SemanticTokensDeltaRequest, SemanticTokensRangeRequest, CodeActionRequest, ShutdownRequest, ExitNotification,
  RegistrationRequest, WorkDoneProgressCreateRequest, WorkDoneProgress,
  DidChangeWatchedFilesNotification, DidCloseTextDocumentNotification,
  FoldingRangeRequest, SelectionRangeRequest, DocumentHighlightRequest, TypeDefinitionRequest,
  DocumentRangeFormattingRequest, CodeLensRequest,
} from 'vscode-languageserver-protocol/node.js';
import { at, offsetOf, applyEdits } from './text.mjs';

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

let dir, child, conn, mainUri, typesUri, tomlUri, capabilities;
const versions = new Map();
const latest = new Map();
/** Every diagnostics notification, in order of arrival: { uri, diagnostics, at }. */
const published = [];
/** The server's dynamic registrations and work-done progress, as the client saw them. */
const registrations = [];
const progress = [];
let waiters = [];

function notifyWaiters() {
  waiters = waiters.filter((w) => { if (w.predicate()) { w.resolve(); return false; } return true; });
}

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

  tomlUri = pathToFileURL(fs.realpathSync(path.join(dir, 'cosmos.toml'))).href;

  // The standard library is written under the cache folder the server is given.
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  child = spawn(cosmosc, ['lsp'], { stdio: ['pipe', 'pipe', 'inherit'], env });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    latest.set(p.uri, p.diagnostics);
    published.push({ uri: p.uri, diagnostics: p.diagnostics, at: performance.now() });
    notifyWaiters();
  });
  conn.onRequest(RegistrationRequest.type, (p) => {
    registrations.push(...p.registrations);
    return null;
  });
  conn.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
    conn.onProgress(WorkDoneProgress.type, token, (value) => {
      progress.push({ ...value, at: performance.now() });
      notifyWaiters();
    });
    return null;
  });
  conn.listen();
  const rootUri = pathToFileURL(fs.realpathSync(dir)).href;
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri,
    capabilities: {
      workspace: { didChangeWatchedFiles: { dynamicRegistration: true } },
      window: { workDoneProgress: true },
    },
    workspaceFolders: [{ uri: rootUri, name: 'lsp-test' }],
  });
  assert.ok(init.capabilities.hoverProvider);
  capabilities = init.capabilities;
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
  // Expressions without a name of their own: an operator, a call's result.
  text = await hover(at(MAIN, '> 0', 0));
  assert.ok(text.includes('note.size() > 0: Bool'), text);
  text = await hover(at(MAIN, 'size()', 5));
  assert.ok(text.includes('note.size(): Int'), text);
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

const refs = (uri, pos, includeDeclaration = true) =>
  conn.sendRequest(ReferencesRequest.type, { textDocument: { uri }, position: pos, context: { includeDeclaration } });
const rename = (uri, pos, newName) =>
  conn.sendRequest(RenameRequest.type, { textDocument: { uri }, position: pos, newName });
const where = (locs) => locs.map((l) => `${l.uri === mainUri ? 'main' : 'types'}:${l.range.start.line}:${l.range.start.character}`).sort();

test('find references across files: facts, types, enum members, functions, inputs', async () => {
  let locs = await refs(mainUri, at(MAIN, 'inspection: Inspection?', 1));
  assert.deepEqual(where(locs), where([
    { uri: mainUri, range: { start: at(MAIN, 'inspection: Inspection?') } },
    { uri: mainUri, range: { start: at(MAIN, 'inspection == null') } },
    { uri: mainUri, range: { start: at(MAIN, 'inspection = result') } },
  ]));
  locs = await refs(mainUri, at(MAIN, 'inspection == null', 1), false);
  assert.equal(locs.length, 2, JSON.stringify(locs));
  // The type, from its declaration in another file: the import, a return type, a fact's type.
  locs = await refs(typesUri, at(TYPES, 'Inspection {', 1));
  assert.equal(locs.filter((l) => l.uri === typesUri).length, 1, JSON.stringify(locs));
  assert.equal(locs.filter((l) => l.uri === mainUri).length, 3, JSON.stringify(locs));
  locs = await refs(mainUri, at(MAIN, 'Codec.H264', 7));
  assert.deepEqual(where(locs), where([
    { uri: typesUri, range: { start: at(TYPES, 'H264') } },
    { uri: mainUri, range: { start: at(MAIN, 'H264', 0, 0) } },
    { uri: mainUri, range: { start: at(MAIN, 'H264', 0, 1) } },
  ]));
  locs = await refs(mainUri, at(MAIN, 'inspect(url', 2));
  assert.equal(locs.length, 2, JSON.stringify(locs));
  locs = await refs(mainUri, at(MAIN, 'url: source', 7));
  assert.deepEqual(where(locs), where([
    { uri: mainUri, range: { start: at(MAIN, 'source: String') } },
    { uri: mainUri, range: { start: at(MAIN, 'url: source', 5) } },
  ]));
  // Nothing for a built-in.
  assert.deepEqual(await refs(mainUri, at(MAIN, 'log(', 1)), []);
});

test('rename a fact, a type across files, an enum member and a local', async () => {
  let edit = await rename(mainUri, at(MAIN, 'note.size', 1), 'remark');
  assert.equal(applyEdits(MAIN, edit.changes[mainUri]), MAIN.replaceAll('note', 'remark'));
  edit = await rename(mainUri, at(MAIN, 'Inspection?', 1), 'Probe');
  assert.equal(applyEdits(MAIN, edit.changes[mainUri]), MAIN.replaceAll('Inspection', 'Probe'));
  assert.equal(applyEdits(TYPES, edit.changes[typesUri]), TYPES.replaceAll('Inspection', 'Probe'));
  edit = await rename(typesUri, at(TYPES, 'HEVC', 1), 'H265');
  assert.equal(applyEdits(TYPES, edit.changes[typesUri]), TYPES.replace('HEVC', 'H265'));
  assert.equal(edit.changes[mainUri], undefined);
  edit = await rename(typesUri, at(TYPES, 'width', 1), 'w');
  assert.equal(applyEdits(TYPES, edit.changes[typesUri]), TYPES.replace('width', 'w'));
  // A local and a record field read through it, in a helper.
  const withDef = MAIN + `
def area(probe: Inspection): Int {
    def w = probe.width
    w * probe.height
}
`;
  change(mainUri, withDef);
  edit = await rename(mainUri, at(withDef, 'w * probe', 0), 'wide');
  assert.equal(applyEdits(withDef, edit.changes[mainUri]), withDef.replace('def w =', 'def wide =').replace('w * probe', 'wide * probe'));
  edit = await rename(mainUri, at(withDef, 'probe: Inspection', 1), 'p');
  assert.equal(applyEdits(withDef, edit.changes[mainUri]), withDef.replace('area(probe', 'area(p').replace('= probe.', '= p.').replace('* probe.', '* p.'));
  edit = await rename(mainUri, at(withDef, 'probe.width', 7), 'w');
  assert.equal(applyEdits(withDef, edit.changes[mainUri]), withDef.replace('probe.width', 'probe.w'));
  assert.equal(applyEdits(TYPES, edit.changes[typesUri]), TYPES.replace('width', 'w'));
  change(mainUri, MAIN);
});

test('rename refuses invalid names with a message', async () => {
  const refused = async (pos, newName, pattern) => {
    await assert.rejects(rename(mainUri, pos, newName), (e) => { assert.match(e.message, pattern); return true; });
  };
  await refused(at(MAIN, 'note.size', 1), 'if', /reserved word/);
  await refused(at(MAIN, 'note.size', 1), '2x', /not a name/);
  await refused(at(MAIN, 'note.size', 1), 'codec', /already/);
  await refused(at(MAIN, 'inspect(url', 1), 'Encode', /already/);
  const prepared = await conn.sendRequest(PrepareRenameRequest.type, { textDocument: { uri: mainUri }, position: at(MAIN, 'note.size', 2) });
  assert.deepEqual(prepared.start, at(MAIN, 'note.size'));
  assert.deepEqual(prepared.end, at(MAIN, 'note.size', 4));
  await assert.rejects(
    conn.sendRequest(PrepareRenameRequest.type, { textDocument: { uri: mainUri }, position: at(MAIN, 'log(', 1) }),
    /nothing here that can be renamed/,
  );
});

test('formatting goes through cosmosc fmt, and leaves a broken file alone', async () => {
  const format = async (text) => {
    change(mainUri, text);
    const edits = await conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri: mainUri }, options: { tabSize: 4, insertSpaces: true } });
    return { edits, result: applyEdits(text, edits) };
  };
  const canonical = (await format(MAIN)).result;
  assert.ok(canonical.includes('    reaction {\n            log("é😀日本")\n            inspection = result\n        }'), canonical);
  const messy = MAIN.replace('workflow Encode {', 'workflow   Encode{').replace('    complete when', '          complete when');
  const { edits, result } = await format(messy);
  assert.ok(edits.length > 0);
  assert.equal(result, canonical);
  assert.deepEqual((await format(canonical)).edits, []);
  assert.deepEqual((await format(MAIN.replace('workflow Encode {', 'workflow Encode {{'))).edits, []);
  change(mainUri, MAIN);
});

test('folding ranges: blocks, comment lines and imports', async () => {
  assert.equal(capabilities.foldingRangeProvider, true);
  const text = MAIN.replace('import media.types { Inspection, Codec }\n', 'import media.types { Inspection, Codec }\nimport std.media\n')
    .replace('/** Probes a source file. */', '// Probes a source file,\n// with ffprobe.');
  change(mainUri, text);
  const ranges = await conn.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: mainUri } });
  const has = (startLine, endLine, kind) => ranges.some((r) => r.startLine === startLine && r.endLine === endLine && r.kind === kind);
  assert.ok(has(0, 1, 'imports'), JSON.stringify(ranges));
  const comment = at(text, '// Probes').line;
  assert.ok(has(comment, comment + 1, 'comment'), JSON.stringify(ranges));
  // The workflow folds up to the line before its closing brace, which stays visible.
  const workflow = at(text, 'workflow Encode').line;
  const last = text.trimEnd().split('\n').length - 1;
  assert.ok(has(workflow, last - 1, 'region'), JSON.stringify(ranges));
  const facts = at(text, 'facts {').line;
  assert.ok(has(facts, at(text, 'note: String').line, 'region'), JSON.stringify(ranges));
  change(mainUri, MAIN);
});

test('selection ranges grow from a name through the syntax around it', async () => {
  assert.equal(capabilities.selectionRangeProvider, true);
  const [chain] = await conn.sendRequest(SelectionRangeRequest.type, {
    textDocument: { uri: mainUri }, positions: [at(MAIN, 'note.size()', 1)],
  });
  const texts = [];
  for (let r = chain; r; r = r.parent) {
    texts.push(MAIN.slice(offsetOf(MAIN, r.range.start), offsetOf(MAIN, r.range.end)));
  }
  assert.equal(texts[0], 'note');
  assert.ok(texts.includes('note.size()'), JSON.stringify(texts));
  assert.ok(texts.includes('note.size() > 0'), JSON.stringify(texts));
  assert.ok(texts.some((t) => t.startsWith('complete when')), JSON.stringify(texts));
  assert.equal(texts[texts.length - 1], MAIN);
});

test('document highlight marks where a fact is read and where it is written', async () => {
  assert.equal(capabilities.documentHighlightProvider, true);
  const highlights = await conn.sendRequest(DocumentHighlightRequest.type, {
    textDocument: { uri: mainUri }, position: at(MAIN, 'inspection = result', 1),
  });
  const found = highlights.map((h) => [h.range.start.line, h.kind]);
  // The declaration (text), the match's `== null` (read), the reaction's assignment (write).
  assert.deepEqual(found, [
    [at(MAIN, 'inspection: Inspection?').line, 1],
    [at(MAIN, 'inspection == null').line, 2],
    [at(MAIN, 'inspection = result').line, 3],
  ]);
});

test('go to type definition from facts, their uses and expressions', async () => {
  assert.equal(capabilities.typeDefinitionProvider, true);
  const typeOf = (text, needle, delta = 0) => conn.sendRequest(TypeDefinitionRequest.type, {
    textDocument: { uri: mainUri }, position: at(text, needle, delta),
  });
  const inspection = { uri: typesUri, range: { start: at(TYPES, 'Inspection'), end: at(TYPES, 'Inspection', 10) } };
  // The optional fact where declared and where assigned, and the action's call.
  assert.deepEqual(await typeOf(MAIN, 'inspection: Inspection?'), inspection);
  assert.deepEqual(await typeOf(MAIN, 'inspection = result'), inspection);
  assert.deepEqual(await typeOf(MAIN, 'inspect(url: source', 2), inspection);
  assert.deepEqual(await typeOf(MAIN, 'codec: Codec'), { uri: typesUri, range: { start: at(TYPES, 'Codec'), end: at(TYPES, 'Codec', 5) } });
  // A `String` input has no declaration to go to.
  assert.equal(await typeOf(MAIN, 'source: String'), null);
});

test('range formatting changes only the lines in the range', async () => {
  assert.equal(capabilities.documentRangeFormattingProvider, true);
  const formatRange = async (text, range) => {
    change(mainUri, text);
    const edits = await conn.sendRequest(DocumentRangeFormattingRequest.type, {
      textDocument: { uri: mainUri }, range, options: { tabSize: 4, insertSpaces: true },
    });
    return applyEdits(text, edits);
  };
  const messy = MAIN.replace('workflow Encode {', 'workflow   Encode{');
  const line = at(messy, 'workflow   Encode').line;
  const header = { start: { line, character: 0 }, end: { line, character: 3 } };
  // The header is fixed; the reaction further down, also not canonical, is left as it is.
  assert.equal(await formatRange(messy, header), MAIN);
  const whole = { start: { line: 0, character: 0 }, end: { line: messy.split('\n').length, character: 0 } };
  const full = await conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri: mainUri }, options: { tabSize: 4, insertSpaces: true } });
  assert.equal(await formatRange(messy, whole), applyEdits(messy, full));
  // A file that does not parse is left alone.
  const broken = MAIN.replace('workflow Encode {', 'workflow Encode {{');
  assert.equal(await formatRange(broken, whole), broken);
  change(mainUri, MAIN);
});

test('a "Run test" lens over each test block runs cosmos.runTest with its name and project', async () => {
  assert.deepEqual(capabilities.codeLensProvider, { resolveProvider: false });
  const text = `${MAIN}\ntest "encodes h264" {\n    start Encode(source: "a.mp4")\n}\n`;
  change(mainUri, text);
  const lenses = await conn.sendRequest(CodeLensRequest.type, { textDocument: { uri: mainUri } });
  assert.equal(lenses.length, 1, JSON.stringify(lenses));
  assert.equal(lenses[0].range.start.line, at(text, 'test "encodes').line);
  assert.deepEqual(lenses[0].command, {
    title: 'Run test', command: 'cosmos.runTest', arguments: ['encodes h264', fs.realpathSync(dir)],
  });
  change(mainUri, MAIN);
  assert.deepEqual(await conn.sendRequest(CodeLensRequest.type, { textDocument: { uri: mainUri } }), []);
});

test('workspace symbols find declarations in every file', async () => {
  const symbols = await conn.sendRequest(WorkspaceSymbolRequest.type, { query: 'insp' });
  const found = symbols.map((s) => `${s.name}@${s.location.uri === mainUri ? 'main' : 'types'}${s.containerName ? '<' + s.containerName : ''}`).sort();
  assert.deepEqual(found, ['Inspection@types', 'inspect source@main<Encode', 'inspect@main', 'inspection@main<Encode']);
  const all = await conn.sendRequest(WorkspaceSymbolRequest.type, { query: '' });
  assert.ok(all.some((s) => s.name === 'H264' && s.containerName === 'Codec'));
});

test('signature help for functions, helpers, records and built-ins', async () => {
  const typing = MAIN.replace('action { inspect(url: source) }', 'action { inspect(url: source, ) }')
    .replace('complete when { note.size() > 0 }', 'complete when { area(Inspection(width: 1, h), x) > min(1, ) }');
  change(mainUri, typing);
  const help = (pos) => conn.sendRequest(SignatureHelpRequest.type, { textDocument: { uri: mainUri }, position: pos });
  let h = await help(at(typing, 'inspect(url', 8));
  assert.equal(h.signatures[0].label, 'inspect(url: String): Inspection');
  assert.deepEqual(h.signatures[0].parameters.map((p) => p.label), ['url: String']);
  assert.equal(h.activeParameter, 0);
  h = await help(at(typing, 'width: 1, h', 10));
  assert.equal(h.signatures[0].label, 'Inspection(width: Int, height: Int): Inspection');
  assert.equal(h.activeParameter, 1);
  h = await help(at(typing, 'min(1, ', 7));
  assert.ok(h.signatures[0].label.startsWith('min('), h.signatures[0].label);
  assert.ok(h.signatures[0].documentation.value.length > 0);
  h = await help(at(typing, 'note', 0, 0));
  assert.equal(h, null);
  change(mainUri, MAIN);
});

test('inlay hints show inferred local types and the type of result', async () => {
  const withDef = MAIN + `
def area(probe: Inspection): Int {
    def w = probe.width
    def typed: Int = probe.height
    def label = "x\${w}"
    w * typed + label.size()
}
`;
  change(mainUri, withDef);
  const lines = withDef.split('\n').length;
  const hints = await conn.sendRequest(InlayHintRequest.type, { textDocument: { uri: mainUri }, range: { start: { line: 0, character: 0 }, end: { line: lines, character: 0 } } });
  const shown = hints.map((h) => `${h.position.line}:${h.position.character} ${h.label}`);
  assert.deepEqual(shown, [
    `${at(withDef, 'reaction {', 10).line}:${at(withDef, 'reaction {', 10).character} result: Inspection`,
    `${at(withDef, 'w = probe').line}:${at(withDef, 'w = probe', 1).character} : Int`,
    `${at(withDef, 'label =').line}:${at(withDef, 'label =', 5).character} : String`,
  ]);
  change(mainUri, MAIN);
});

test('semantic tokens classify keywords, declarations, names, strings, numbers and comments', async () => {
  const text = MAIN.replace('workflow Encode {', '// the encoder\nworkflow Encode {');
  change(mainUri, text);
  const { data } = await conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri: mainUri } });
  const lines = text.split('\n');
  const types = capabilities.semanticTokensProvider.legend.tokenTypes;
  const tokens = [];
  let line = 0, character = 0;
  for (let i = 0; i < data.length; i += 5) {
    line += data[i];
    character = data[i] === 0 ? character + data[i + 1] : data[i + 1];
    tokens.push(`${lines[line].slice(character, character + data[i + 2])}:${types[data[i + 3]]}`);
  }
  for (const expected of [
    'workflow:keyword', 'rule:keyword', 'match:keyword', 'reaction:keyword', 'function:keyword',
    'Inspection:type', 'Codec:enum', 'H264:enumMember', 'Encode:class',
    'inspection:property', 'source:parameter', 'inspect:function', 'log:function',
    '"é😀日本"', '0:number', '// the encoder:comment', '"café":string',
  ]) {
    assert.ok(tokens.some((t) => t === expected || t.startsWith(expected + ':')), `${expected} in ${tokens.join(' ')}`);
  }
  // Every reference to the fact is a property, in the match and in the reaction.
  assert.equal(tokens.filter((t) => t === 'inspection:property').length, 3, tokens.join(' '));
  change(mainUri, MAIN);
});

test('semantic tokens: a range holds the tokens in it, a delta is the edit from the last answer', async () => {
  change(mainUri, MAIN);
  const provider = capabilities.semanticTokensProvider;
  assert.equal(provider.range, true);
  assert.deepEqual(provider.full, { delta: true });
  const full = await conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri: mainUri } });
  assert.ok(full.resultId, 'a result id for deltas');
  // The range's tokens are the full answer's tokens on those lines, re-based.
  const absolute = (data) => {
    const out = [];
    let line = 0, character = 0;
    for (let i = 0; i < data.length; i += 5) {
      line += data[i];
      character = data[i] === 0 ? character + data[i + 1] : data[i + 1];
      out.push(`${line}:${character}:${data[i + 2]}:${data[i + 3]}`);
    }
    return out;
  };
  const lineCount = MAIN.split('\n').length;
  const ranged = await conn.sendRequest(SemanticTokensRangeRequest.type, {
    textDocument: { uri: mainUri },
    range: { start: { line: 5, character: 0 }, end: { line: 12, character: 0 } },
  });
  const inLines = absolute(full.data).filter((t) => { const l = Number(t.split(':')[0]); return l >= 5 && l < 12; });
  assert.ok(inLines.length > 0 && lineCount > 12);
  assert.deepEqual(absolute(ranged.data), inLines);
  // Nothing changed: an empty delta.
  const same = await conn.sendRequest(SemanticTokensDeltaRequest.type, {
    textDocument: { uri: mainUri }, previousResultId: full.resultId,
  });
  assert.deepEqual(same.edits, []);
  // A comment added on top: applying the delta gives the new full answer.
  const edited = '// a note\n' + MAIN;
  change(mainUri, edited);
  const delta = await conn.sendRequest(SemanticTokensDeltaRequest.type, {
    textDocument: { uri: mainUri }, previousResultId: same.resultId,
  });
  assert.ok(delta.edits.length === 1, JSON.stringify(delta));
  const patched = full.data.slice();
  for (const e of delta.edits) patched.splice(e.start, e.deleteCount, ...(e.data ?? []));
  const fresh = await conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri: mainUri } });
  assert.deepEqual(patched, fresh.data);
  // A delta from an answer that is not the last one is the whole file again.
  const stale = await conn.sendRequest(SemanticTokensDeltaRequest.type, {
    textDocument: { uri: mainUri }, previousResultId: full.resultId,
  });
  assert.deepEqual(stale.data, fresh.data);
  change(mainUri, MAIN);
});

test('code actions: the compiler\'s suggestions (a null guard, a name, `==`) and an import', async () => {
  const fix = async (text, needle, code, title) => {
    change(mainUri, text);
    const line = at(text, needle).line;
    const mine = () => errors(mainUri).find((d) => d.code === code && d.range.start.line === line);
    await waitFor(() => mine() !== undefined, `a ${code} on line ${line} of main.emx`);
    const diagnostic = mine();
    assert.ok(diagnostic, JSON.stringify(errors(mainUri)));
    const actions = await conn.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: mainUri }, range: diagnostic.range, context: { diagnostics: [diagnostic] },
    });
    const action = actions.find((a) => a.title.includes(title));
    assert.ok(action, JSON.stringify(actions.map((a) => a.title)));
    assert.equal(action.kind, 'quickfix');
    assert.equal(action.diagnostics[0].code, code);
    return applyEdits(text, action.edit.changes[mainUri]);
  };
  // Using an optional fact in the action, unchecked in the match.
  const unguarded = MAIN.replace('match { inspection == null && codec', 'match { codec')
    .replace('inspect(url: source)', 'inspect(url: inspection.width.toString())');
  const guarded = await fix(unguarded, 'inspection.width', 'E0202', '`inspection != null`');
  assert.equal(guarded, unguarded.replace('match { codec', 'match { inspection != null && codec'));
  change(mainUri, guarded);
  await waitFor(() => !errors(mainUri).some((d) => d.code === 'E0202'), 'the null error to go');
  // A type that is not imported, declared in media.types.
  const unimported = MAIN.replace('{ Inspection, Codec }', '{ Inspection }');
  assert.equal(await fix(unimported, 'codec: Codec', 'E0104', 'Import `Codec` from `media.types`'), MAIN);
  // A misspelled fact.
  const misspelled = MAIN.replace('note.size()', 'nte.size()');
  assert.equal(await fix(misspelled, 'nte.size', 'E0103', 'Did you mean `note`?'), MAIN);
  // An assignment where `complete when` needs a comparison.
  const assigned = MAIN.replace('complete when { note.size() > 0 }', 'complete when { codec = Codec.HEVC }');
  assert.equal(
    await fix(assigned, 'codec = Codec.HEVC', 'E0203', 'Write `==` to test equality'),
    assigned.replace('codec = Codec.HEVC', 'codec == Codec.HEVC'),
  );
  change(mainUri, MAIN);
  await waitFor(() => errors(mainUri).length === 0, 'main.emx clean at the end');
});

test('rename and references reach the labels of named arguments', async () => {
  // A function's parameter: its label at the call follows, and references list it.
  let edit = await rename(mainUri, at(MAIN, 'url: String', 1), 'address');
  assert.equal(applyEdits(MAIN, edit.changes[mainUri]),
    MAIN.replace('inspect(url: String)', 'inspect(address: String)').replace('inspect(url: source)', 'inspect(address: source)'));
  let locs = await refs(mainUri, at(MAIN, 'url: source', 1));
  assert.deepEqual(where(locs), where([
    { uri: mainUri, range: { start: at(MAIN, 'url: String') } },
    { uri: mainUri, range: { start: at(MAIN, 'url: source') } },
  ]));
  // A helper's parameter and a record's fields, across files, from a label.
  const withCalls = MAIN + `
def make(w: Int): Inspection {
    Inspection(width: w, height: twice(n: w))
}

def twice(n: Int): Int {
    n * 2
}
`;
  change(mainUri, withCalls);
  edit = await rename(mainUri, at(withCalls, 'width: w', 1), 'wide');
  assert.equal(applyEdits(TYPES, edit.changes[typesUri]), TYPES.replace('width', 'wide'));
  assert.equal(applyEdits(withCalls, edit.changes[mainUri]), withCalls.replace('width: w', 'wide: w'));
  locs = await refs(typesUri, at(TYPES, 'height', 1));
  assert.deepEqual(where(locs), where([
    { uri: typesUri, range: { start: at(TYPES, 'height') } },
    { uri: mainUri, range: { start: at(withCalls, 'height: twice') } },
  ]));
  edit = await rename(mainUri, at(withCalls, 'n: Int', 0), 'count');
  assert.equal(applyEdits(withCalls, edit.changes[mainUri]),
    withCalls.replace('twice(n: w)', 'twice(count: w)').replace('twice(n: Int)', 'twice(count: Int)').replace('n * 2', 'count * 2'));
  const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mainUri }, position: at(withCalls, 'height: twice', 1) });
  assert.ok(hoverText(h).includes('field height: Int'), hoverText(h));
  change(mainUri, MAIN);
});

test('completion after a dot on locals, result, error, it and optionals', async () => {
  const helper = (body) => MAIN + `\ndef area(sure: Inspection, probe: Inspection?, names: List<String>): Int {\n${body}\n}\n`;
  const cases = [
    // A local, then an optional local after `?.`, then a half-typed name.
    [helper('    def p = sure\n    p.'), 'p.', 2, ['width', 'height']],
    [helper('    def p = probe\n    p?.'), 'p?.', 3, ['width', 'height']],
    [helper('    def p = probe\n    p?.hei'), 'p?.hei', 5, ['width', 'height']],
    // `it` and a named closure parameter.
    [helper('    names.count { it. }'), 'it.', 3, ['toUpperCase', 'size']],
    [helper('    names.count { n -> n. }'), 'n.', 2, ['trim', 'size']],
    // `result` in a reaction, `error` in an error block.
    [MAIN.replace('inspection = result }', 'inspection = result; log(result.) }'), 'result.', 7, ['width', 'height']],
    [MAIN.replace('inspection = result }', 'inspection = result }\n        error { log(error.) }'), 'error.', 6, ['message', 'attempt', 'kind']],
  ];
  for (const [text, needle, delta, expected] of cases) {
    change(mainUri, text);
    const items = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri: mainUri }, position: at(text, needle, delta) });
    const labels = items.map((i) => i.label);
    for (const label of expected) assert.ok(labels.includes(label), `${label} after ${needle}: ${labels.join(',')}`);
    assert.ok(!labels.includes('workflow'), `no keywords after ${needle}`);
  }
  change(mainUri, MAIN);
});

test('completion of module paths and names in imports', async () => {
  const typing = MAIN.replace('import media.types { Inspection, Codec }', 'import me');
  change(mainUri, typing);
  let items = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri: mainUri }, position: at(typing, 'import me', 9) });
  const types = items.find((i) => i.label === 'media.types');
  assert.ok(types, items.map((i) => i.label).join(','));
  assert.ok(items.some((i) => i.label === 'std.media'));
  assert.ok(!items.some((i) => i.label === 'main'), 'not the module itself');
  // The whole typed path is replaced, so `media.ty` becomes `media.types`.
  assert.deepEqual(types.textEdit.range, { start: at(typing, 'me'), end: at(typing, 'import me', 9) });
  const braces = MAIN.replace('{ Inspection, Codec }', '{ Inspection, ');
  change(mainUri, braces);
  items = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri: mainUri }, position: at(braces, 'Inspection, ', 12) });
  assert.deepEqual(items.map((i) => i.label), ['Codec']);
  change(mainUri, MAIN);
});

test('go to definition into std opens a read-only file whose diagnostics are never published', async () => {
  const text = MAIN.replace('inspection = result }', 'inspection = result }\n        error { log(error.message) }');
  change(mainUri, text);
  const loc = await conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: mainUri }, position: at(text, 'error.message', 7) });
  assert.ok(loc.uri.startsWith('file://'), loc.uri);
  const file = new URL(loc.uri);
  assert.ok(fs.realpathSync(file.pathname).startsWith(fs.realpathSync(path.join(dir, 'cache', 'cosmos', 'std'))), loc.uri);
  assert.ok(loc.uri.endsWith('/core.emx'), loc.uri);
  const core = fs.readFileSync(file, 'utf8');
  assert.equal(core.split('\n')[loc.range.start.line].slice(loc.range.start.character, loc.range.end.character), 'message');
  assert.equal(fs.statSync(file).mode & 0o222, 0, 'read-only');
  // Opened in the editor, it answers requests, and no diagnostics are published for it.
  conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: loc.uri, languageId: 'emx', version: 1, text: core } });
  const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: loc.uri }, position: at(core, 'type CallError', 6) });
  assert.ok(hoverText(h).includes('type CallError'), hoverText(h));
  const { data } = await conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri: loc.uri } });
  assert.ok(data.length > 0, 'std is coloured');
  const before = published.length;
  change(mainUri, MAIN);
  await waitFor(() => published.slice(before).some((p) => p.uri === mainUri), 'a new round of diagnostics');
  conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: loc.uri } });
  assert.ok(!published.some((p) => p.uri === loc.uri), 'no diagnostics for std');
});

test('a change to cosmos.toml reloads the declared pools', async () => {
  assert.ok(registrations.some((r) => r.method === 'workspace/didChangeWatchedFiles'
    && r.registerOptions.watchers.some((w) => w.globPattern === '**/cosmos.toml')), JSON.stringify(registrations));
  const pooled = MAIN.replace('command "probe"', 'command "probe"\n    pool "encoders"');
  const unknownPool = () => (latest.get(mainUri) ?? []).some((d) => d.code === 'W0006');
  const toml = path.join(dir, 'cosmos.toml');
  const rewrite = (text) => {
    fs.writeFileSync(toml, text);
    conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: tomlUri, type: 2 }] });
  };
  change(mainUri, pooled);
  await waitFor(unknownPool, 'W0006 for the undeclared pool');
  rewrite('[project]\nname = "lsp-test"\n\n[pools.encoders]\nmax = 2\n');
  await waitFor(() => !unknownPool() && latest.has(mainUri), 'W0006 gone once the pool is declared');
  rewrite('[project]\nname = "lsp-test"\n');
  await waitFor(unknownPool, 'W0006 back once the pool is removed');
  change(mainUri, MAIN);
  await waitFor(() => !unknownPool(), 'no pool, no warning');
});

test('.emx files created or deleted outside the editor are picked up', async () => {
  assert.ok(registrations.some((r) => r.method === 'workspace/didChangeWatchedFiles'
    && r.registerOptions.watchers.some((w) => w.globPattern === '**/*.emx')), JSON.stringify(registrations));
  const errors = () => (latest.get(mainUri) ?? []).filter((d) => d.severity === 1);
  const folder = path.join(fs.realpathSync(path.join(dir, 'src')), 'extra');
  const file = path.join(folder, 'tools.emx');
  const toolsUri = pathToFileURL(file).href;
  const notify = (type) => conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: toolsUri, type }] });
  const uses = MAIN.replace('import media.types', 'import extra.tools { triple }\nimport media.types')
    + '\ndef nine(): Int {\n    triple(3)\n}\n';
  change(mainUri, uses);
  await waitFor(() => errors().length > 0, 'an error for the missing module');
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(file, 'def triple(x: Int): Int {\n    x * 3\n}\n');
  notify(1);
  await waitFor(() => errors().length === 0 && latest.has(mainUri), 'the new module is seen: ' + JSON.stringify(errors()));
  const before = published.length;
  fs.rmSync(folder, { recursive: true });
  notify(3);
  await waitFor(() => errors().length > 0, 'the deleted module is missing again');
  assert.ok(published.slice(before).some((p) => p.uri === toolsUri && p.diagnostics.length === 0),
    'the deleted file\'s diagnostics are cleared');
  change(mainUri, MAIN);
  await waitFor(() => errors().length === 0, 'back to the original text');
});

/** `n` helpers that call each other, so that their check takes a while. */
function bigFile(n, extra) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(`def h${i}(x: Int, s: String): Int {
    def a = [x, x + 1, x + 2].collect { it * 2 }.sum()
    def b = s.split(",").findAll { it.size() > ${i % 7} }.size()
    if (a > b) a + h${Math.max(i - 1, 0)}(x - 1, s) else b
}
`);
  }
  return out.join('\n') + extra;
}

test('a long check runs in the background: requests answer meanwhile, and an edit cancels it', async () => {
  const bigUri = pathToFileURL(path.join(fs.realpathSync(path.join(dir, 'src')), 'big.emx')).href;
  const checking = (after) => () => progress.some((p) => p.at > after && p.kind === 'report' && p.message === 'big.emx');
  const bigPublished = (after) => published.find((p) => p.uri === bigUri && p.at > after);
  // The first check of a big file: a hover on another file is answered while it runs.
  let start = performance.now();
  versions.set(bigUri, 1);
  conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: bigUri, languageId: 'emx', version: 1, text: bigFile(3000, '') },
  });
  await waitFor(checking(start), 'the check of big.emx to start', 30000);
  const began = performance.now();
  const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mainUri }, position: at(MAIN, 'inspection == null', 2) });
  const answered = performance.now();
  assert.ok(hoverText(h).includes('fact inspection'), hoverText(h));
  assert.equal(bigPublished(start), undefined, 'the hover is answered before the check ends');
  await waitFor(() => bigPublished(start) !== undefined, 'the diagnostics of big.emx', 30000);
  const checked = bigPublished(start).at;
  assert.ok((answered - began) * 4 < checked - began, `hover took ${answered - began} ms, the check ${checked - began} ms`);
  // An edit during a check cancels it: the stale diagnostics (an error) are never published.
  start = performance.now();
  change(bigUri, bigFile(3000, '\ndef wrong(): Int {\n    "text"\n}\n'));
  await waitFor(checking(start), 'the check of the version with an error', 30000);
  const fixed = performance.now();
  change(bigUri, bigFile(3000, '\ndef right(): Int {\n    3\n}\n'));
  await waitFor(() => bigPublished(fixed) !== undefined, 'the diagnostics of the fixed version', 30000);
  const seen = published.filter((p) => p.uri === bigUri && p.at > start);
  assert.deepEqual(seen.map((p) => p.diagnostics.filter((d) => d.severity === 1).length), [0], JSON.stringify(seen.map((p) => p.diagnostics)));
  conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: bigUri } });
});
