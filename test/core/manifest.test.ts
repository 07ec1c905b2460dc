import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readManifest } from '../../core/loader/manifest.js';
import { orderPlugins } from '../../core/loader/order.js';
import type { PluginManifest } from '../../core/loader/manifest.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-manifest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function manifest(text: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'plugin.yaml'), text);
  return dir;
}

const good = `name: disk-guard
version: 1.2.3
description: Guards disks
plugin_type: check
main: dist/index.js
cx_version: ">=0.1.0"
`;

describe('plugin.yaml', () => {
  test('a valid manifest reads back as data', async () => {
    const { manifest: m } = await readManifest(await manifest(good));
    expect(m).toEqual({
      name: 'disk-guard',
      version: '1.2.3',
      description: 'Guards disks',
      plugin_type: 'check',
      main: 'dist/index.js',
      cx_version: '>=0.1.0',
    });
  });

  test('malformed YAML names file, line and column', async () => {
    await manifest('name: x\nversion: [1, 2\ndescription: y\n');
    await expect(readManifest(dir)).rejects.toMatchObject({
      code: 'CX_ERR_YAML_SYNTAX',
      message: expect.stringMatching(new RegExp(`^${join(dir, 'plugin.yaml')}:\\d+:\\d+: `)),
    });
  });

  test('a schema failure names the field, its line, what was expected and what was found', async () => {
    await manifest(good.replace('plugin_type: check', 'plugin_type: widget'));
    await expect(readManifest(dir)).rejects.toMatchObject({
      code: 'CX_ERR_MANIFEST_INVALID',
      message: `${join(dir, 'plugin.yaml')}:4: field 'plugin_type' must be one of: "command", "check", "connector", "fix", "task", "updater", "repair", "service-manager", "library" (found: "widget")\nSee schemas/plugin.schema.json for the manifest format.`,
    });
  });

  test('an unknown field and a missing field are both named', async () => {
    await manifest(`${good}colour: blue\n`);
    await expect(readManifest(dir)).rejects.toMatchObject({
      message: expect.stringContaining("field 'colour' is not allowed here (unknown field)"),
    });
    await manifest(good.replace('main: dist/index.js\n', ''));
    await expect(readManifest(dir)).rejects.toMatchObject({
      message: expect.stringContaining("field 'main' is required but missing"),
    });
  });

  test('a nested field path is given in full', async () => {
    await manifest(`${good}permissions:\n  net:\n    - "no port here"\n`);
    await expect(readManifest(dir)).rejects.toMatchObject({
      code: 'CX_ERR_MANIFEST_INVALID',
      message: expect.stringContaining(":9: field 'permissions.net[0]' must match the pattern"),
    });
  });

  test('a directory without plugin.yaml', async () => {
    await expect(readManifest(join(dir, 'nothing'))).rejects.toMatchObject({ code: 'CX_ERR_MANIFEST_MISSING' });
  });
});

const m = (name: string, requires: Record<string, string> = {}, version = '1.0.0'): PluginManifest => ({
  name,
  version,
  description: name,
  plugin_type: 'library',
  main: 'index.js',
  cx_version: '*',
  requires,
});

describe('requires order', () => {
  test('plugins come after what they require; ties by name', () => {
    const r = orderPlugins(
      new Map([
        ['c', m('c', { a: '^1' })],
        ['b', m('b')],
        ['a', m('a', { b: '>=1' })],
      ]),
    );
    expect(r).toEqual({ order: ['b', 'a', 'c'], errors: [] });
  });

  test('a cycle is reported with its chain and excludes its members only', () => {
    const r = orderPlugins(
      new Map([
        ['a', m('a', { b: '*' })],
        ['b', m('b', { c: '*' })],
        ['c', m('c', { a: '*' })],
        ['d', m('d')],
      ]),
    );
    expect(r.order).toEqual(['d']);
    expect(r.errors.map((e) => e.message)).toContain(
      'plugins require each other in a cycle: a -> b -> c -> a.\nRemove one of these requires entries.',
    );
  });

  test('a missing or too-old requirement excludes the plugin and those requiring it', () => {
    const r = orderPlugins(
      new Map([
        ['a', m('a', { b: '^2.0.0' })],
        ['b', m('b')],
        ['top', m('top', { a: '*' })],
        ['lone', m('lone', { ghost: '*' })],
      ]),
    );
    expect(r.order).toEqual(['b']);
    expect(r.errors.map((e) => [e.code, e.plugin])).toEqual([
      ['CX_ERR_REQUIRES_MISSING', 'a'],
      ['CX_ERR_REQUIRES_MISSING', 'lone'],
      ['CX_ERR_REQUIRES_MISSING', 'top'],
    ]);
    expect(r.errors[0]!.message).toContain("plugin 'a' requires 'b' ^2.0.0, but b 1.0.0 is installed");
    expect(r.errors[1]!.message).toContain("requires 'ghost' *, which is not installed or not enabled");
  });
});
