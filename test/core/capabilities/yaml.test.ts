// The one YAML reader and schema check (cx-ops/sdk/host): every problem is positioned.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkSchema, parseYaml, readYaml } from '../../../sdk/host.js';
import { readYamlFile } from '../../../core/loader/yaml.js';
import { caps, rejection, tempDir } from './helpers.js';

const syntax = (file: string, line: number, column: number, detail: string) => ({
  code: 'CX_ERR_YAML_SYNTAX',
  exitCode: 2,
  params: { file, line, column, detail },
});
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

describe('parseYaml', () => {
  it('gives data and the position of every field, an unknown key at the key', () => {
    const doc = parseYaml('name: x\nlist:\n  - a\n  - b: 1\n', 'f.yaml');
    expect(doc.data).toEqual({ name: 'x', list: ['a', { b: 1 }] });
    expect(doc.positionOf(['list', 1, 'b'])).toEqual({ line: 4, column: 8 });
    expect(doc.positionOf(['list', 1, 'b'], true)).toEqual({ line: 4, column: 5 });
    expect(doc.lineOf(['missing', 'deeper'])).toBe(1);
  });

  it('every syntax problem is CX_ERR_YAML_SYNTAX with file:line:col: bad syntax, duplicate keys, undefined aliases, alias bombs, invalid UTF-8', () => {
    expect(thrown(() => parseYaml('a: [1, 2\n', 'a.yaml'))).toMatchObject({
      code: 'CX_ERR_YAML_SYNTAX',
      params: { file: 'a.yaml', line: 2 },
    });
    expect(thrown(() => parseYaml('a: 1\na: 2\n', 'd.yaml'))).toMatchObject(
      syntax('d.yaml', 2, 1, 'Map keys must be unique'),
    );
    expect(thrown(() => parseYaml('ok: 1\nx: *nope\n', 'u.yaml'))).toMatchObject(
      syntax('u.yaml', 2, 4, 'Unresolved alias: nope: define the anchor (&name) before its alias (*name)'),
    );
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    expect(thrown(() => parseYaml(bomb, 'bomb.yaml'))).toMatchObject(
      syntax('bomb.yaml', 2, 8, 'too many alias expansions (more than 100: an alias bomb?); write the values out'),
    );
    const bytes = new Uint8Array([...new TextEncoder().encode('a: 1\nb: "x'), 0xff, 0x22, 0x0a]);
    expect(thrown(() => parseYaml(bytes, 'bin.yaml'))).toMatchObject(
      syntax('bin.yaml', 2, 6, 'invalid UTF-8 at byte offset 10 (0xff); save the file as UTF-8 text'),
    );
  });

  it('JSON is read with JSON.parse, with the same positions and the same duplicate-key error', () => {
    const text = '{\n  "name": "x",\n  "list": ["a", {"b": 1, "q": "\\"a\\""}]\n}\n';
    const doc = parseYaml(text, 'f.json');
    expect(doc.data).toEqual({ name: 'x', list: ['a', { b: 1, q: '"a"' }] });
    expect(doc.positionOf(['list', 1, 'b'])).toEqual({ line: 3, column: 23 });
    expect(doc.lineOf(['name'], true)).toBe(2);
    expect(thrown(() => parseYaml('{"a": {"b": 1, "b": 2}}', 'd.json'))).toMatchObject(
      syntax('d.json', 1, 16, 'Map keys must be unique'),
    );
    expect(parseYaml('[{"a": 1}, {"a": 2}]', 'l.json').data).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('checkSchema', () => {
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: { name: { type: 'string' }, port: { type: 'integer' } },
  };
  const validate = new Ajv({ strict: true }).compile(schema);
  it('throws the given catalogue code with file, line, column, field, expected and found', () => {
    expect(
      thrown(() => checkSchema(parseYaml('name: x\nport: "80"\n', 'r.yaml'), validate, 'CX_ERR_CHECKS_FILE_INVALID')),
    ).toMatchObject({
      code: 'CX_ERR_CHECKS_FILE_INVALID',
      exitCode: 2,
      params: { file: 'r.yaml', line: 2, column: 7, field: 'port', detail: 'must be of type integer', found: '80' },
      message: expect.stringMatching(/^r\.yaml:2: field 'port' must be of type integer \(found: "80"\)/),
    });
    expect(
      thrown(() => checkSchema(parseYaml('name: x\n\nprot: 80\n', 'r.yaml'), validate, 'CX_ERR_CHECKS_FILE_INVALID')),
    ).toMatchObject({ params: { line: 3, column: 1, field: 'prot', detail: 'is not allowed here (unknown field)' } });
    expect(
      checkSchema(parseYaml('{"name": "x", "port": 8}', 'r.json'), validate, 'CX_ERR_CHECKS_FILE_INVALID'),
    ).toEqual({ name: 'x', port: 8 });
  });
});

describe('reading files', () => {
  let t: { dir: string; cleanup(): void };
  beforeEach(() => {
    t = tempDir('cx-yaml-');
  });
  afterEach(() => t.cleanup());

  it('readYaml reads through a capability (audited), null when absent', async () => {
    const { localFs, audit } = caps('y');
    writeFileSync(join(t.dir, 'a.yaml'), 'x: 1\n');
    expect((await readYaml(localFs, join(t.dir, 'a.yaml')))?.data).toEqual({ x: 1 });
    expect(await readYaml(localFs, join(t.dir, 'none.yaml'))).toBeNull();
    expect(audit.records.map((r) => r.op)).toEqual(['lstat', 'readBytes', 'lstat']);
  });

  it("the kernel's own YAML files: a FIFO, /dev/zero, a dangling or looping symlink, a directory, a path through a file are CX_ERR_IO naming it", async () => {
    const fifo = join(t.dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(await rejection(readYamlFile(fifo))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${fifo}: is not a regular file (a FIFO, device or socket); cx-ops reads only regular files here`,
    });
    symlinkSync('/dev/zero', join(t.dir, 'zero.yaml'));
    expect(await rejection(readYamlFile(join(t.dir, 'zero.yaml')))).toMatchObject({ code: 'CX_ERR_IO' });
    symlinkSync('nowhere.yaml', join(t.dir, 'dangling.yaml'));
    expect(await rejection(readYamlFile(join(t.dir, 'dangling.yaml')))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${join(t.dir, 'dangling.yaml')}: is a dangling symlink (to nowhere.yaml); point it at a file or remove it`,
    });
    symlinkSync('loop.yaml', join(t.dir, 'loop.yaml'));
    expect(await rejection(readYamlFile(join(t.dir, 'loop.yaml')))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${join(t.dir, 'loop.yaml')}: is a symlink loop; point it at a file or remove it`,
    });
    mkdirSync(join(t.dir, 'dir.yaml'));
    expect(await rejection(readYamlFile(join(t.dir, 'dir.yaml')))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${join(t.dir, 'dir.yaml')}: is not a regular file (a directory); cx-ops reads only regular files here`,
    });
    writeFileSync(join(t.dir, 'file'), '');
    expect(await rejection(readYamlFile(join(t.dir, 'file', 'config.yaml')))).toMatchObject({ code: 'CX_ERR_IO' });
    expect(await readYamlFile(join(t.dir, 'absent.yaml'))).toBeUndefined();
  });
});

describe('start-up cost', () => {
  it('the yaml library is loaded only when a text needs it (JSON takes the fast path): a warm doctor run never loads it', () => {
    const reader = new URL('../../../dist/sdk/yaml.js', import.meta.url).href;
    const script = `import { createRequire } from 'node:module';
const { parseYaml } = await import(${JSON.stringify(reader)});
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/yaml/'));
const start = loaded();
parseYaml('{"a": 1}', 'x.json');
const json = loaded();
parseYaml('a: 1', 'x.yaml');
console.log(JSON.stringify([start, json, loaded()]));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([false, false, true]);
  });
});
