/** The kernel's version: package.json's, read once. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8'));
      if (pkg.name === 'cx-ops') return pkg.version as string;
    } catch {
      /* next candidate */
    }
  }
  return '0.0.0';
}

export const KERNEL_VERSION: string = readVersion();
