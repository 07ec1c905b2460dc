/**
 * A command task's recorded resources are its program's own (wait4's figures through GNU time):
 * a program that touches 200 MB and burns 400 ms of CPU shows that in `automation status`,
 * beside the cx-ops process's CPU during the run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

let t: TempRoot;
const HUNGRY =
  'const b = Buffer.alloc(200e6, 1); const t = process.cpuUsage(); while (process.cpuUsage(t).user < 400e3); console.log(b[9])';

beforeAll(async () => {
  t = await tempRoot('cx-task-usage-');
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  await writeFile(
    join(t.root, 'etc/cx/config.yaml'),
    `automation:
  retry_failed_tasks: false
  tasks:
    - id: hungry
      type: command
      schedule: manual
      config: { command: [node, -e, ${JSON.stringify(HUNGRY)}] }
`,
  );
});
afterAll(() => t.cleanup());

test('a command task records its program’s CPU time and peak RSS', async () => {
  const run = await t.run(['automation', 'run', 'hungry']);
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/hungry: Success in \S+\n {2}1$/);
  const status = await t.run(['automation', 'status', 'hungry', '--json']);
  const [e] = JSON.parse(status.stdout).executions;
  expect(e.status).toBe('Success');
  expect(e.resources_used).toMatchObject({ programs_measured: 1, max_rss_of: 'programs' });
  expect(e.resources_used.max_rss_kb).toBeGreaterThan(200_000);
  expect(e.resources_used.cpu_ms).toBeGreaterThanOrEqual(400 + e.resources_used.cx_ops_cpu_ms);
  expect(e.resources_used.cx_ops_cpu_ms).toBeLessThan(e.resources_used.cpu_ms);
});
