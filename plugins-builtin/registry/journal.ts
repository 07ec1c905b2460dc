/**
 * The registry plugin's journal: one JSON line per change it makes (install, update, remove,
 * registry add/remove), appended and fsynced in `${stateDir}/journal.jsonl`, so an operator can
 * see what was installed when, from where, with which hash, signature and grants.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

export interface JournalRecord {
  action: 'install' | 'remove' | 'registry-add' | 'registry-remove';
  plugin?: string;
  version?: string;
  previous?: string;
  registry?: string;
  url?: string;
  sha256?: string;
  signature?: string;
  tier?: string;
  grants?: string[];
}

export const journalFile = (stateDir: string) => join(stateDir, 'journal.jsonl');

/** Appends one record with the time and the user (uid) who ran the command. */
export async function appendJournal(stateDir: string, record: JournalRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const fh = await open(journalFile(stateDir), 'a', 0o644);
  try {
    await fh.writeFile(`${JSON.stringify({ time: new Date().toISOString(), uid: process.getuid?.() ?? null, ...record })}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
