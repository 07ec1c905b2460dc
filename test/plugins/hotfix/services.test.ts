/**
 * capture_service_state against a real supervisord (test/helpers/supervisor.ts): the
 * services' states are captured through the services plugin's managers, a step stops one, a
 * later step fails, and the rollback starts it again through the same manager.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSupervisor, type Supervisor } from '../../helpers/supervisor.js';
import { hotfixRoot, type HotfixRoot } from './hotfix-root.js';

let sup: Supervisor;
let h: HotfixRoot;
beforeAll(async () => {
  sup = await startSupervisor();
  h = await hotfixRoot();
  await writeFile(h.real('etc/cx/config.yaml'), `services:\n  supervisor_config: ${sup.conf}\n`);
}, 120_000);
afterAll(async () => {
  await sup?.stop();
  await h?.cleanup();
});

describe('a capture of services', () => {
  it('puts a service that a failed hotfix stopped back to running', { timeout: 240_000 }, async () => {
    expect(sup.ctl('status', 'steady').stdout).toContain('RUNNING');
    const dir = await h.module('security-patch');
    await writeFile(`${dir}/src/stop.sh`, `#!/bin/sh\nsupervisorctl -c ${sup.conf} stop steady\n`);
    await writeFile(`${dir}/src/fail.sh`, '#!/bin/sh\necho "the new version does not start" >&2\nexit 1\n');
    await writeFile(
      `${dir}/index.json`,
      JSON.stringify({
        metadata: { schema_version: '1.0.0' },
        operations: [
          { id: 'capture_services', type: 'capture', services: ['steady'] },
          { id: 'stop_steady', type: 'execute', source: 'stop.sh', dependencies: ['capture_services'] },
          { id: 'start_new', type: 'execute', source: 'fail.sh', dependencies: ['stop_steady'] },
        ],
      }),
    );
    const r = await h.run(['hotfix', 'apply', dir, '-y', '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.steps[0]).toMatchObject({
      status: 'undone',
      detail: 'services: steady running; undone: started steady',
    });
    expect(report.rollback).toMatchObject({ complete: true });
    expect(report.rollback.steps.at(-1)).toMatchObject({ op: 'capture_services', ok: true, detail: 'started steady' });
    expect(sup.ctl('status', 'steady').stdout).toContain('RUNNING');
  });
});
