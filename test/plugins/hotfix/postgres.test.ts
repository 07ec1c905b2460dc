/**
 * The seed's database migration against a REAL PostgreSQL server (see postgres-server.ts):
 * capture_db_state (pg_dump -Fc) -> migrate_schema (with rollback_script) -> validate_migration.
 * A validation that fails restores the database automatically (rollback_script, then pg_restore
 * --clean --if-exists --exit-on-error); a migration that passed is undone by cx-ops-rollback,
 * run alone from a temp dir. Both times the data and the columns equal what they were.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotfixRoot, journalProblems, ROLLBACK_TOOL, type HotfixRoot } from './hotfix-root.js';
import { startPostgres, type PgServer } from './postgres-server.js';

let pg: PgServer;
let h: HotfixRoot;
let mod: string;

const state = async () => ({
  rows: await pg.sql('homeserver', 'SELECT id, name, created FROM users ORDER BY id'),
  columns: await pg.sql(
    'homeserver',
    "SELECT column_name || ':' || data_type FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
  ),
});

beforeAll(async () => {
  pg = await startPostgres();
  await pg.sql('postgres', 'CREATE DATABASE homeserver');
  await pg.sql(
    'homeserver',
    "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, created date NOT NULL DEFAULT '2024-01-15')",
  );
  await pg.sql('homeserver', "INSERT INTO users (name) VALUES ('ada'), ('grace'), ('linus'), ('margaret')");
  h = await hotfixRoot();
  mod = await h.module('db-migration');
  const index = JSON.parse(await readFile(`${mod}/index.json`, 'utf8'));
  index.operations[0].database.port = pg.port;
  await writeFile(`${mod}/index.json`, JSON.stringify(index, null, 2));
  await writeFile(`${mod}/src/pg.env`, `PGPORT=${pg.port}\n`);
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  await h?.cleanup();
});

describe("the seed's database migration on a real PostgreSQL", () => {
  it('a migration that fails its validation is undone: the data equal to before', { timeout: 300_000 }, async () => {
    const before = await state();
    expect(before.rows).toBe('1|ada|2024-01-15\n2|grace|2024-01-15\n3|linus|2024-01-15\n4|margaret|2024-01-15');
    const r = await h.run(['hotfix', 'apply', mod, '-y', '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.message).toContain(
      "operation 'validate_migration' failed: validate_schema.sh failed (exit 1): validation failed: 4 user(s) without email",
    );
    expect(report.rollback).toMatchObject({ complete: true, remaining: [] });
    expect(report.rollback.steps.map((s: { op: string; detail: string }) => `${s.op}: ${s.detail}`)).toEqual([
      'validate_migration: nothing to undo (no rollback_script)',
      expect.stringMatching(/^migrate_schema: ran .*rollback_migration\.sh$/),
      'capture_db_state: PostgreSQL homeserver restored from captures/capture_db_state.dump',
    ]);
    expect(await state()).toEqual(before);
  });

  it('a migration that passed is rolled back by cx-ops-rollback alone', { timeout: 300_000 }, async () => {
    const before = await state();
    await writeFile(`${mod}/src/validate_schema.sh`, '#!/bin/sh\necho "schema valid"\n');
    const r = await h.run(['hotfix', 'apply', mod, '-y', '--force', '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const run = JSON.parse(r.stdout).run;
    expect((await state()).columns).toContain('email:text');
    expect((await state()).rows).toContain('ADA');
    const lone = await mkdtemp(join(tmpdir(), 'cx-lone-'));
    try {
      await copyFile(ROLLBACK_TOOL, join(lone, 'cx-ops-rollback.mjs'));
      const rb = await execa(
        process.execPath,
        [join(lone, 'cx-ops-rollback.mjs'), '--root', h.root, '--restore-snapshot', run, '-y'],
        { cwd: lone, reject: false, env: { PATH: process.env.PATH! }, extendEnv: false },
      );
      expect(rb.exitCode, rb.stdout + rb.stderr).toBe(0);
      expect(rb.stdout).toContain('PostgreSQL homeserver restored');
    } finally {
      await rm(lone, { recursive: true, force: true });
    }
    expect(await state()).toEqual(before);
    // The records cx-ops-rollback appended match the same journal schema.
    const journal = h.real(`var/backups/hotfix/runs/${run}/journal.jsonl`);
    expect(await readFile(journal, 'utf8')).toContain('"by":"cx-ops-rollback"');
    expect(await journalProblems(journal)).toEqual([]);
  });
});
