/**
 * `ctx.exec.run(…, { usage: true })`: a real program's CPU time and peak RSS as wait4() reports
 * them through GNU time (installed by .ci/run), the program's own exit and signal kept, and what
 * happens where nothing can be measured (dry run, GNU time absent, the program killed at its timeout).
 */
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { runProgram } from '../../../core/capabilities/exec.js';
import { gnuTimePath, readUsageReport } from '../../../core/capabilities/exec-usage.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';

const caps = (dryRun = false) =>
  createHostCapabilities({
    plugin: 'p',
    tier: 'trusted',
    grants: 'all',
    dryRun,
    audit: AuditLog.memory(),
  });
// 200 MB touched, then ~400 ms of CPU: figures the cx-ops process's own could not explain.
const HUNGRY =
  'const b = Buffer.alloc(200e6, 1); const t = process.cpuUsage(); while (process.cpuUsage(t).user < 400e3); console.log(b[5])';

describe('exec usage', () => {
  it('reports the program’s own CPU time and peak RSS, not the caller’s', async () => {
    expect(await gnuTimePath()).toBe('/usr/bin/time');
    const r = await caps().exec.run('node', ['-e', HUNGRY], { usage: true, timeoutMs: 60_000 });
    expect(r).toMatchObject({ exitCode: 0, signal: null, stdout: '1\n', stderr: '' });
    expect(r.usage!.maxRssKb).toBeGreaterThan(200_000);
    expect(r.usage!.cpuMs).toBeGreaterThanOrEqual(400);
    expect(process.resourceUsage().maxRSS).toBeLessThan(r.usage!.maxRssKb);
    // Without the option nothing changes: no usage, the program runs directly.
    const plain = await caps().exec.run('sh', ['-c', 'echo $0'], {});
    expect(plain).toMatchObject({ exitCode: 0, stdout: 'sh\n' });
    expect(plain).not.toHaveProperty('usage');
  });

  it('keeps the program’s exit status and signal; a killed or unmeasured run has usage null', async () => {
    const exit3 = await caps().exec.run('sh', ['-c', 'echo err >&2; exit 3'], { usage: true });
    expect(exit3).toMatchObject({ exitCode: 3, signal: null, stderr: 'err\n' });
    expect(exit3.usage).toMatchObject({ cpuMs: expect.any(Number), maxRssKb: expect.any(Number) });
    const killed = await caps().exec.run('sh', ['-c', 'kill -TERM $$'], { usage: true });
    expect(killed).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    expect(killed.usage!.maxRssKb).toBeGreaterThan(0);
    const late = await caps().exec.run('sh', ['-c', 'exec sleep 30'], { usage: true, timeoutMs: 300 });
    expect(late).toMatchObject({ timedOut: true, usage: null });
    const dry = await caps(true).exec.run('sh', ['-c', 'exit 0'], { usage: true });
    expect(dry).toMatchObject({ dryRun: true, usage: null });
    // GNU time absent (measureWith null): the program runs as usual, usage null.
    const none = await runProgram('/bin/sh', 'sh', ['-c', 'echo hi'], {
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 10_000,
      measureWith: null,
    });
    expect(none).toMatchObject({ exitCode: 0, stdout: 'hi\n', usage: null });
  });

  it('reads GNU time’s report off the end of stderr; a line the program wrote before it cannot stand in for it', () => {
    expect(readUsageReport('oops\ncx-ops-usage 0.50 0.30 0.10 1234\n')).toEqual({
      usage: { cpuMs: 400, maxRssKb: 1234, elapsedMs: 500 },
      signal: null,
      start: 5,
    });
    const forged = 'cx-ops-usage 9 9 9 9\nCommand terminated by signal 9\ncx-ops-usage 0.02 0.01 0.00 800\n';
    expect(readUsageReport(forged)).toEqual({
      usage: { cpuMs: 10, maxRssKb: 800, elapsedMs: 20 },
      signal: 'SIGKILL',
      start: 21,
    });
    expect(readUsageReport('Command exited with non-zero status 3\ncx-ops-usage 0.00 0.00 0.00 9\n')).toMatchObject({
      signal: null,
      start: 0,
    });
    expect(readUsageReport('garbage\n')).toBeNull();
    expect(readUsageReport('cx-ops-usage 0.02 0.01 0.00 800\ntrailing\n')).toBeNull();
  });
});
