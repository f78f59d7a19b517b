'use strict';
// Consistency of the extension manifest and the files it points at.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const readJson = (rel) => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'));
const pkg = readJson('package.json');

test('manifest identity and entry points', () => {
  assert.equal(pkg.name, 'emx');
  assert.equal(pkg.displayName, 'Emx (Cosmos)');
  assert.equal(pkg.publisher, 'cosmos');
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
  assert.match(pkg.engines.vscode, /^\^1\.\d+\.\d+$/);
  assert.equal(pkg.main, './dist/extension.js', 'the esbuild bundle');
  assert.match(pkg.scripts.bundle, /^esbuild src\/extension\.ts --bundle --outfile=dist\/extension\.js --external:vscode /);
  assert.equal(pkg.scripts['vscode:prepublish'], 'npm run bundle');
  assert.ok(pkg.activationEvents.includes('onLanguage:emx'));
  assert.ok(pkg.categories.includes('Programming Languages'));
  assert.ok(pkg.repository && pkg.repository.url, 'repository is set');
  assert.equal(pkg.icon, 'icons/emx.png');
  assert.ok(fs.existsSync(path.join(root, 'LICENSE')), 'LICENSE exists');
  assert.ok(fs.existsSync(path.join(root, 'README.md')), 'README.md exists');
  for (const script of ['compile', 'test', 'package']) assert.ok(pkg.scripts[script], `script ${script}`);
  assert.match(pkg.scripts.compile, /\btsc\b/);
  assert.match(pkg.scripts.package, /\bvsce package\b/);
});

test('@types/vscode does not exceed engines.vscode', () => {
  const engine = pkg.engines.vscode.replace(/^\^/, '').split('.').map(Number);
  const types = pkg.devDependencies['@types/vscode'].split('.').map(Number);
  assert.ok(types[0] === engine[0] && (types[1] < engine[1] || (types[1] === engine[1] && types[2] <= engine[2])));
});

test('dependencies are pinned and locked', () => {
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version`);
  }
  const lock = readJson('package-lock.json');
  assert.ok(lock.lockfileVersion >= 2);
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    const entry = lock.packages[`node_modules/${name}`];
    assert.ok(entry, `${name} is in package-lock.json`);
    assert.equal(entry.version, pkg.dependencies?.[name] ?? pkg.devDependencies[name]);
  }
});

test('every path under contributes exists', () => {
  const c = pkg.contributes;
  const paths = [
    ...c.languages.map((l) => l.configuration),
    ...c.grammars.map((g) => g.path),
    ...c.tomlValidation.map((v) => v.url),
    ...c.snippets.map((s) => s.path),
  ];
  assert.ok(paths.length >= 3);
  for (const p of paths) {
    assert.ok(fs.existsSync(path.join(root, p)), `${p} exists`);
    assert.doesNotThrow(() => readJson(p), `${p} is valid JSON`);
  }
});

test('language contribution', () => {
  const [lang] = pkg.contributes.languages;
  assert.equal(lang.id, 'emx');
  assert.deepEqual(lang.extensions, ['.emx']);
  assert.ok(lang.aliases.includes('Emx'));
  assert.equal(lang.configuration, './language-configuration.json');
  for (const theme of ['light', 'dark']) {
    const svg = fs.readFileSync(path.join(root, lang.icon[theme]), 'utf8');
    assert.match(svg, /^<svg [^>]*viewBox="0 0 16 16"/, `${theme} file icon is a 16x16 SVG`);
  }
});

test('the extension icon is a 128x128 PNG', () => {
  const png = fs.readFileSync(path.join(root, pkg.icon));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.toString('ascii', 12, 16), 'IHDR');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
});

test('markdown injection grammar for ```emx blocks', () => {
  const g = pkg.contributes.grammars.find((x) => x.scopeName === 'markdown.emx.codeblock');
  assert.ok(g);
  assert.deepEqual(g.injectTo, ['text.html.markdown']);
  assert.equal(g.embeddedLanguages['meta.embedded.block.emx'], 'emx');
  const grammar = readJson(g.path);
  assert.equal(grammar.scopeName, 'markdown.emx.codeblock');
  assert.equal(grammar.injectionSelector, 'L:text.html.markdown');
  assert.ok(JSON.stringify(grammar).includes('"include":"source.emx"'));
});

test('format on save and editor defaults for emx', () => {
  assert.deepEqual(pkg.contributes.configurationDefaults['[emx]'], {
    'editor.formatOnSave': true,
    'editor.tabSize': 4,
    'editor.insertSpaces': true,
  });
});

test('the cosmosc task definition', () => {
  const [def] = pkg.contributes.taskDefinitions;
  assert.equal(def.type, 'cosmosc');
  assert.deepEqual(def.required, ['command']);
  assert.deepEqual(def.properties.command.enum, ['check', 'test', 'fmt']);
  assert.equal(def.properties.dir.type, 'string');
  const src = fs.readFileSync(path.join(root, 'src/tasks.ts'), 'utf8');
  assert.match(src, /TASK_COMMANDS = \['check', 'test', 'fmt'\] as const/);
});

test('grammar contribution matches the grammar file', () => {
  const g = pkg.contributes.grammars.find((x) => x.language === 'emx');
  assert.equal(g.language, 'emx');
  assert.equal(g.scopeName, 'source.emx');
  assert.equal(g.path, './syntaxes/emx.tmLanguage.json');
  const grammar = readJson(g.path);
  assert.equal(grammar.scopeName, g.scopeName);
  assert.ok(Array.isArray(grammar.patterns) && grammar.patterns.length > 0);
});

test('grammar: every #include names a repository rule, every rule is used', () => {
  const grammar = readJson('syntaxes/emx.tmLanguage.json');
  const used = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node && typeof node === 'object') {
      if (typeof node.include === 'string') {
        if (node.include.startsWith('#')) {
          const name = node.include.slice(1);
          assert.ok(grammar.repository[name], `#${name} is defined`);
          used.add(name);
        } else {
          assert.ok(['$self', '$base', 'source.emx'].includes(node.include), `include ${node.include}`);
        }
      }
      Object.values(node).forEach(visit);
    }
  };
  visit(grammar);
  for (const name of Object.keys(grammar.repository)) assert.ok(used.has(name), `#${name} is used`);
});

test('grammar: every regex compiles with Oniguruma and every scope ends in .emx', async () => {
  const oniguruma = require('vscode-oniguruma');
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const grammar = readJson('syntaxes/emx.tmLanguage.json');
  let regexes = 0;
  const visit = (node, where) => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${where}[${i}]`));
    if (!node || typeof node !== 'object') return;
    for (const key of ['match', 'begin', 'end', 'while']) {
      if (typeof node[key] === 'string') {
        assert.doesNotThrow(() => new oniguruma.OnigScanner([node[key]]).dispose(), `${where}.${key}: ${node[key]}`);
        regexes++;
      }
    }
    for (const key of ['name', 'contentName']) {
      if (where !== 'grammar' && typeof node[key] === 'string') {
        for (const scope of node[key].split(/\s+/)) assert.match(scope, /^[a-z][a-z0-9-]*(\.[a-z0-9$-]+)*\.emx$/, `${where}.${key}`);
      }
    }
    for (const [k, v] of Object.entries(node)) if (v && typeof v === 'object') visit(v, `${where}.${k}`);
  };
  visit(grammar, 'grammar');
  assert.ok(regexes > 50, `checked ${regexes} regexes`);
});

test('grammar: every reserved and contextual keyword appears in a rule', () => {
  const grammar = readJson('syntaxes/emx.tmLanguage.json');
  const sources = [];
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const key of ['match', 'begin']) if (typeof node[key] === 'string') sources.push(node[key]);
    Object.values(node).forEach(visit);
  };
  visit(grammar);
  const reserved = 'import type enum function def workflow input facts rule signal test if else for in return true false null as';
  const contextual =
    'match action reaction error priority complete when output timeout command pool batch warm start mock fails run advance assert ' +
    'schedule cron every overlap skip allow';
  for (const word of [...reserved.split(' '), ...contextual.split(' ')]) {
    const re = new RegExp(`[(|:]${word}[|)]|\\\\b${word}\\\\b`);
    assert.ok(sources.some((s) => re.test(s)), word);
  }
});

test('language configuration', () => {
  const conf = readJson('language-configuration.json');
  assert.equal(conf.comments.lineComment, '//');
  assert.deepEqual(conf.comments.blockComment, ['/*', '*/']);
  assert.deepEqual(conf.brackets, [['{', '}'], ['[', ']'], ['(', ')']]);
  const quotes = conf.autoClosingPairs.filter((p) => p.open === '"' || p.open === "'");
  assert.equal(quotes.length, 2);
  for (const q of quotes) assert.deepEqual(q.notIn, ['string', 'comment']);
  assert.ok(conf.surroundingPairs.length >= 5);
  // VS Code evaluates these with JavaScript regular expressions.
  const regexes = [
    conf.wordPattern,
    conf.indentationRules.increaseIndentPattern,
    conf.indentationRules.decreaseIndentPattern,
    conf.indentationRules.unIndentedLinePattern,
    conf.folding.markers.start,
    conf.folding.markers.end,
    ...conf.onEnterRules.flatMap((r) => [r.beforeText, r.afterText, r.previousLineText].filter(Boolean)),
  ];
  for (const r of regexes) assert.doesNotThrow(() => new RegExp(r), r);
  const word = new RegExp(conf.wordPattern, 'g');
  assert.deepEqual('approved_by = 1.5.h + x1'.match(word), ['approved_by', '1.5.h', 'x1']);
  const increase = new RegExp(conf.indentationRules.increaseIndentPattern);
  assert.ok(increase.test('    rule "x" {'));
  assert.ok(!increase.test('    match { a }'));
  assert.ok(new RegExp(conf.indentationRules.decreaseIndentPattern).test('    }'));
  const docRule = conf.onEnterRules[1];
  assert.ok(new RegExp(docRule.beforeText).test('  /** Starts'));
  assert.equal(docRule.action.appendText, ' * ');
});

test('snippets parse and cover the declarations', () => {
  const snippets = readJson('snippets/emx.json');
  const prefixes = new Set(Object.values(snippets).map((s) => s.prefix));
  for (const p of ['workflow', 'rule', 'function', 'def', 'type', 'enum', 'test', 'schedule']) assert.ok(prefixes.has(p), `snippet ${p}`);
  for (const [name, s] of Object.entries(snippets)) {
    assert.equal(typeof s.description, 'string', `${name} has a description`);
    const body = Array.isArray(s.body) ? s.body.join('\n') : s.body;
    assert.equal(typeof body, 'string');
    // Balanced placeholders: every unescaped "${" closes.
    let depth = 0;
    for (let i = 0; i < body.length; i++) {
      if (body[i] === '\\') {
        i++;
        continue;
      }
      if (body[i] === '$' && body[i + 1] === '{') {
        depth++;
        i++;
      } else if (body[i] === '}' && depth > 0) depth--;
    }
    assert.equal(depth, 0, `${name}: unbalanced placeholder`);
  }
  const schedules = Object.values(snippets).filter((s) => s.prefix === 'schedule').map((s) => s.body.join('\n'));
  assert.ok(schedules.some((b) => /\n\tcron "/.test(b)) && schedules.some((b) => /\n\tevery /.test(b)), 'cron and every schedules');
  for (const b of schedules) for (const clause of ['overlap ${', 'start {']) assert.ok(b.includes(clause), clause);
  const rule = snippets.Rule.body.join('\n');
  for (const clause of ['match {', 'action {', 'reaction {', 'error {']) assert.ok(rule.includes(clause), clause);
});

test('contributed commands are registered by the client and vice versa', () => {
  const src = fs.readFileSync(path.join(root, 'src/extension.ts'), 'utf8');
  const registered = [...src.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]).sort();
  const contributed = pkg.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(registered, contributed);
  assert.ok(contributed.includes('emx.restartServer'));
});

test('configuration settings', () => {
  const props = pkg.contributes.configuration.properties;
  assert.equal(props['emx.server.path'].default, 'cosmosc');
  assert.deepEqual(props['emx.server.args'].default, ['lsp']);
  assert.deepEqual(props['emx.trace.server'].enum, ['off', 'messages', 'verbose']);
  assert.equal(props['emx.trace.server'].default, 'off');
});

test('.gitignore and .vscodeignore', () => {
  const gitignore = fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n');
  for (const e of ['node_modules/', 'out/', 'dist/', '*.vsix']) assert.ok(gitignore.includes(e), e);
  const vscodeignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8').split('\n');
  for (const e of ['node_modules/**', 'out/**', 'src/**', 'test/**', '*.vsix']) assert.ok(vscodeignore.includes(e), e);
});
