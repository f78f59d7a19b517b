// Positions and edits in test texts, as LSP counts them (UTF-16 code units, as
// JavaScript strings do); shared by the client tests.
import assert from 'node:assert/strict';

/** The position of the `n`th occurrence of `needle` in `text`, plus `delta` characters (UTF-16, as JS strings count). */
export function at(text, needle, delta = 0, n = 0) {
  let index = -1;
  for (let i = 0; i <= n; i++) index = text.indexOf(needle, index + 1);
  assert.ok(index >= 0, `no ${needle}`);
  const before = text.slice(0, index + delta);
  const line = before.split('\n').length - 1;
  const character = before.length - before.lastIndexOf('\n') - 1;
  return { line, character };
}

/** The UTF-16 offset of a position in `text`. */
export function offsetOf(text, pos) {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < pos.line; i++) offset += lines[i].length + 1;
  return offset + pos.character;
}

/** `text` with LSP text edits applied. */
export function applyEdits(text, edits) {
  const sorted = [...edits].sort((a, b) => offsetOf(text, b.range.start) - offsetOf(text, a.range.start));
  for (const e of sorted) {
    text = text.slice(0, offsetOf(text, e.range.start)) + e.newText + text.slice(offsetOf(text, e.range.end));
  }
  return text;
}
