// Writes to a SQLite database (WAL) in small transactions until the stop file appears, then
// writes the row count to the stopped file and exits: the live writer of the capture test.
import { existsSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

const [db, stop, stopped] = process.argv.slice(2);
const d = new Database(db);
d.pragma('journal_mode = WAL');
d.pragma('busy_timeout = 10000');
const insert = d.prepare('INSERT INTO events (payload) VALUES (?)');
const batch = d.transaction((n) => {
  for (let i = 0; i < 50; i++) insert.run(`event ${n}-${i} ${'x'.repeat(200)}`);
});
let n = 0;
writeFileSync(`${stopped}.started`, '');
while (!existsSync(stop)) batch(n++);
writeFileSync(stopped, String(d.prepare('SELECT count(*) AS c FROM events').get().c));
d.close();
