/**
 * A real SQLite database (WAL) captured while another process writes to it: the capture uses the
 * online backup API and passes PRAGMA integrity_check; a migration that fails is undone by
 * restoring that capture into the live database (never a file copy of a WAL database).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { hotfixRoot, type HotfixRoot } from './hotfix-root.js';

const WRITER = fileURLToPath(new URL('./sqlite-writer.mjs', import.meta.url));
let h: HotfixRoot;
afterEach(() => h?.cleanup());

const rows = (file: string) => {
  const d = new Database(file, { readonly: true });
  try {
    return {
      events: d.prepare('SELECT id, payload FROM events ORDER BY id').all(),
      meta: d.prepare('SELECT * FROM meta').all(),
      integrity: d.pragma('integrity_check', { simple: true }),
    };
  } finally {
    d.close();
  }
};

describe('capture of a SQLite database that is being written to', () => {
  it('is consistent, and restoring it puts back exactly what was captured', { timeout: 300_000 }, async () => {
    h = await hotfixRoot();
    const db = h.real('var/lib/app/app.db');
    await mkdir(h.real('var/lib/app'), { recursive: true });
    const init = new Database(db);
    init.pragma('journal_mode = WAL');
    init.exec(
      "CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL); CREATE TABLE meta (k TEXT, v TEXT); INSERT INTO meta VALUES ('schema', '1');",
    );
    init.close();
    const flags = h.real('run');
    await mkdir(flags, { recursive: true });
    const writer = execa(process.execPath, [WRITER, db, join(flags, 'stop'), join(flags, 'stopped')], {
      reject: false,
    });
    const dir = await h.module('security-patch');
    await writeFile(
      `${dir}/src/stop_writer.sh`,
      '#!/bin/sh\ntouch "$HOTFIX_ROOT/run/stop"\ni=0\nwhile [ ! -f "$HOTFIX_ROOT/run/stopped" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n',
    );
    await writeFile(
      `${dir}/src/migrate.sh`,
      '#!/bin/sh\nset -e\nsqlite3 "$HOTFIX_ROOT/var/lib/app/app.db" "DELETE FROM events; DROP TABLE meta;"\n',
    );
    await writeFile(`${dir}/src/validate.sh`, '#!/bin/sh\necho "meta table is gone" >&2\nexit 1\n');
    await writeFile(
      `${dir}/index.json`,
      JSON.stringify({
        metadata: { schema_version: '1.0.0' },
        operations: [
          { id: 'capture_app_db', type: 'capture', database: { type: 'sqlite', path: '/var/lib/app/app.db' } },
          { id: 'stop_writer', type: 'execute', source: 'stop_writer.sh', dependencies: ['capture_app_db'] },
          { id: 'migrate', type: 'execute', source: 'migrate.sh', dependencies: ['stop_writer'] },
          { id: 'validate', type: 'execute', source: 'validate.sh', dependencies: ['migrate'] },
        ],
      }),
    );
    // The writer is running before the capture starts.
    for (
      let i = 0;
      i < 600 &&
      !(await readFile(join(flags, 'stopped.started')).then(
        () => true,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    const r = await h.run(['hotfix', 'apply', dir, '-y', '--json']);
    await writer;
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.steps[0].detail).toContain('integrity_check ok');
    expect(report.rollback).toMatchObject({ complete: true });
    expect(report.rollback.steps.at(-1).detail).toBe(`SQLite ${db} restored (integrity_check ok)`);
    const captured = rows(h.real(`var/backups/hotfix/runs/${report.run}/captures/capture_app_db.sqlite`));
    const now = rows(db);
    expect(captured.integrity).toBe('ok');
    expect(now).toEqual(captured);
    expect(now.meta).toEqual([{ k: 'schema', v: '1' }]);
    // Captured mid-stream: rows were written before the capture and after it.
    const total = Number(await readFile(join(flags, 'stopped'), 'utf8'));
    expect(captured.events.length).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(captured.events.length);
  });
});
