'use strict';
// The `$cosmosc` problem matcher against real `cosmosc check` output
// (test/fixtures/check): matched the way VS Code matches a multi-line
// pattern, the problems must be exactly the diagnostics of `--format json`.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'check');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const matcher = pkg.contributes.problemMatchers.find((m) => m.name === 'cosmosc');

// VS Code removes ANSI escape sequences from task output before matching.
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** Applies a multi-line pattern: each element must match consecutive lines. */
function match(text) {
  const lines = text.split(/\r?\n/);
  const patterns = matcher.pattern.map((p) => ({ ...p, re: new RegExp(p.regexp) }));
  const problems = [];
  for (let i = 0; i + patterns.length <= lines.length; i++) {
    const groups = patterns.map((p, k) => p.re.exec(lines[i + k]));
    if (groups.some((g) => g === null)) continue;
    const problem = {};
    patterns.forEach((p, k) => {
      for (const field of ['file', 'line', 'column', 'severity', 'code', 'message']) {
        if (typeof p[field] === 'number') problem[field] = groups[k][p[field]];
      }
    });
    problems.push(problem);
  }
  return problems;
}

function expected() {
  const json = JSON.parse(fs.readFileSync(path.join(fixtures, 'diagnostics.json'), 'utf8'));
  return json.diagnostics.map((d) => ({
    file: d.file,
    line: String(d.line),
    column: String(d.column),
    severity: d.severity,
    code: d.code,
    message: d.message,
  }));
}

test('the matcher is contributed as $cosmosc with file, line, column, severity, code and message', () => {
  assert.ok(matcher, 'problemMatchers has "cosmosc"');
  assert.deepEqual(matcher.fileLocation, ['relative', '${workspaceFolder}']);
  assert.equal(matcher.pattern.length, 2);
  const fields = Object.assign({}, ...matcher.pattern);
  for (const f of ['file', 'line', 'column', 'severity', 'code', 'message']) assert.equal(typeof fields[f], 'number', f);
});

test('every diagnostic of the captured human output is matched, in order', () => {
  const text = fs.readFileSync(path.join(fixtures, 'human.txt'), 'utf8');
  const want = expected();
  assert.equal(want.length, 7);
  assert.ok(want.some((d) => d.severity === 'warning') && want.some((d) => d.file.includes('/media/')));
  assert.deepEqual(match(text), want);
  assert.match(text, /checked 2 files: 5 errors, 2 warnings/);
});

test('coloured output matches the same once ANSI codes are removed', () => {
  const text = fs.readFileSync(path.join(fixtures, 'human-color.txt'), 'utf8');
  assert.ok(text.includes('\x1b['), 'the capture is coloured');
  assert.deepEqual(match(stripAnsi(text)), expected());
});

test('the matcher ignores summary, note, label and status-2 lines', () => {
  const noise = [
    'checked 2 files: 5 errors, 2 warnings',
    '  = remove it from the import',
    '1 │ type Probe {',
    '  │      ----- first declared here',
    'error: no cosmos.toml in /tmp or any folder above it',
    'error[E0201]: a header without a location',
    'help: something',
  ].join('\n');
  assert.deepEqual(match(noise), []);
});
