/** A throwaway host for doctor end-to-end tests: a fixture root, its config, the real CLI. */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { tempRoot, type CliRun, type TempRoot } from './run-cli.js';

export const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
const schema = JSON.parse(
  await import('node:fs').then((fs) =>
    fs.readFileSync(fileURLToPath(new URL('../../schemas/doctor-result.schema.json', import.meta.url)), 'utf8'),
  ),
);
const validate = new Ajv.default({ allErrors: true, strict: true })
  .addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
  .compile(schema);

export interface DoctorHost extends TempRoot {
  config(data: Record<string, unknown>): Promise<void>;
  /** Runs `doctor --json ...` and returns the parsed, schema-validated report. */
  json(args?: string[], options?: { env?: Record<string, string> }): Promise<{ run: CliRun; report: Report }>;
}

export interface Report {
  status: string;
  exit_code: number;
  summary: Record<string, number>;
  results: Array<{
    check_id: string;
    name: string;
    status: string;
    message: string;
    details: Record<string, any>;
    fix_id: string | null;
    duration_ms: number;
  }>;
  checks: Record<string, { category: string; severity: string; plugin: string; tier: string }>;
  fixes?: Array<Record<string, any>>;
}

/** The doctor report of a run, validated against schemas/doctor-result.schema.json. */
export function parseReport(run: CliRun): Report {
  let report: unknown;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`doctor did not print JSON (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  }
  if (!validate(report))
    throw new Error(`doctor --json does not match its schema: ${JSON.stringify(validate.errors, null, 2)}`);
  return report as Report;
}

/** A temp root holding a copy of fixtures/<name> (or nothing). */
export async function doctorHost(name?: string): Promise<DoctorHost> {
  const t = await tempRoot('cx-doctor-');
  if (name) await cp(fixture(name), t.root, { recursive: true });
  return {
    ...t,
    async config(data) {
      await mkdir(join(t.root, 'etc/cx'), { recursive: true });
      await writeFile(join(t.root, 'etc/cx/config.yaml'), JSON.stringify(data, null, 2));
    },
    async json(args = [], options = {}) {
      const run = await t.run(['doctor', '--json', ...args], options);
      return { run, report: parseReport(run) };
    },
  };
}

/** Status per check id. */
export const statuses = (r: Report) => Object.fromEntries(r.results.map((x) => [x.check_id, x.status]));
