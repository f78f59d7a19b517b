'use strict';
// The cosmos.toml JSON schema (schemas/cosmos.schema.json), contributed to
// Even Better TOML through `tomlValidation`, accepts the repository's manifests
// and rejects what compiler/project/src/config.rs rejects.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv');
const { parse } = require('smol-toml');

const root = path.resolve(__dirname, '..', '..');
const repo = path.resolve(root, '..', '..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'schemas', 'cosmos.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

function check(text) {
  const ok = validate(parse(text));
  return { ok, errors: validate.errors ?? [] };
}

test('package.json associates cosmos.toml with the schema', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.contributes.tomlValidation, [{ fileMatch: 'cosmos.toml', url: './schemas/cosmos.schema.json' }]);
});

test("the repository's manifests are valid", () => {
  const manifests = ['examples/encode/cosmos.toml', 'tests/std/cosmos.toml'];
  for (const rel of manifests) {
    const { ok, errors } = check(fs.readFileSync(path.join(repo, rel), 'utf8'));
    assert.ok(ok, `${rel}: ${JSON.stringify(errors)}`);
  }
});

test('every key config.rs accepts is valid', () => {
  const full = `
[project]
name = "encode"
version = "0.1.0"
source = "rules"

[runtime]
store = "cosmos.db"
listen = "127.0.0.1:8080"
token = "secret"

[pools.default]
max = 4

[pools.encoders]
max = 2
warm = 1

[pools.empty]
`;
  assert.deepEqual(check(full), { ok: true, errors: [] });
  assert.ok(check('[project]\nname = "x"\n').ok, 'only project.name is required');
});

test('unknown keys and tables are rejected, as deny_unknown_fields does', () => {
  for (const text of [
    '[project]\nname = "x"\nnmae = "y"\n',
    '[project]\nname = "x"\n[pools.a]\nmax = 1\nwarmth = 2\n',
    '[project]\nname = "x"\n[runtimes]\n',
    '[project]\nname = "x"\n[runtime]\nport = 8080\n',
  ]) {
    const { ok, errors } = check(text);
    assert.equal(ok, false, text);
    assert.ok(errors.some((e) => e.keyword === 'additionalProperties'), text);
  }
});

test('wrong types, a missing project and impossible values are rejected', () => {
  for (const text of [
    '[runtime]\n',
    '[project]\nversion = "1"\n',
    '[project]\nname = 3\n',
    '[project]\nname = ""\n',
    '[project]\nname = "  "\n',
    '[project]\nname = "x"\nsource = ["src"]\n',
    '[project]\nname = "x"\n[runtime]\nlisten = 8080\n',
    '[project]\nname = "x"\n[pools.a]\nmax = 0\n',
    '[project]\nname = "x"\n[pools.a]\nmax = 1.5\n',
    '[project]\nname = "x"\n[pools.a]\nwarm = -1\n',
    '[project]\nname = "x"\n[pools.a]\nmax = "4"\n',
    '[project]\nname = "x"\n[pools.a]\nmax = 4294967296\n',
    '[project]\nname = "x"\npools = 3\n',
  ]) {
    assert.equal(check(text).ok, false, text);
  }
});
