#!/usr/bin/env node
// Developer helper: print the TextMate scopes the Emx grammar gives each token.
//   node scripts/tokens.js file.emx            (or '-' for stdin)
// Useful when writing assertions under test/grammar/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node scripts/tokens.js FILE.emx');
    process.exit(2);
  }
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.emx') return null;
      const p = path.join(__dirname, '..', 'syntaxes', 'emx.tmLanguage.json');
      return vsctm.parseRawGrammar(fs.readFileSync(p, 'utf8'), p);
    },
  });
  const grammar = await registry.loadGrammar('source.emx');
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  let stack = vsctm.INITIAL;
  text.split(/\r?\n/).forEach((line, i) => {
    const r = grammar.tokenizeLine(line, stack);
    console.log(`${i + 1}: ${line}`);
    for (const t of r.tokens) {
      const s = line.substring(t.startIndex, t.endIndex);
      if (!s.trim()) continue;
      console.log(`    ${JSON.stringify(s).padEnd(24)} ${t.scopes.slice(1).join(' ')}`);
    }
    stack = r.ruleStack;
  });
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
