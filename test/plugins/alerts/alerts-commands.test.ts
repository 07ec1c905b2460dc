/** `cx-ops alerts silence / silences / unsilence / list / --help`, a silence honoured by `alerts check`, and `doctor --alert`. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TempRoot } from '../../helpers/run-cli.js';
import { failingMemoryRoot, setMemory } from './alert-fixtures.js';
import { receiverServer, type ReceiverServer } from './receiver-server.js';

let t: TempRoot;
let server: ReceiverServer;
beforeAll(async () => {
  server = await receiverServer();
  t = await failingMemoryRoot(
    'cx-alerts-cmd-',
    `alerts:\n  - { name: memory-high, check: memory, actions: [{ type: webhook, url: '${server.url}/hook' }] }\n`,
  );
});
afterAll(async () => {
  await server.close();
  await t.cleanup();
});

describe('alerts commands', () => {
  test('silence, then alerts check sends nothing; silences lists it; unsilence ends it and the alert goes out', async () => {
    const bad = await t.run(['alerts', 'silence', 'memory-hig', '--for', '2h', '--comment', 'swap', '--json']);
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'CX_ERR_ALERT_UNKNOWN', suggestions: ['memory-high'] });
    const noComment = await t.run(['alerts', 'silence', 'memory-high', '--for', '2h', '--json']);
    expect(JSON.parse(noComment.stdout).error).toMatchObject({ code: 'CX_ERR_USAGE', exit: 2 });
    const s = await t.run([
      'alerts',
      'silence',
      'memory-high',
      '--for',
      '2h',
      '--comment',
      'swapping the disk',
      '--json',
    ]);
    expect(s.exitCode).toBe(0);
    const sil = JSON.parse(s.stdout);
    expect(sil).toMatchObject({
      matchers: [{ name: 'alertname', op: '=', value: 'memory-high' }],
      comment: 'swapping the disk',
      active: true,
    });
    expect(Date.parse(sil.ends_at) - Date.parse(sil.starts_at)).toBe(2 * 3_600_000);
    const d1 = await t.run(['alerts', 'check', '--check', 'memory']);
    expect(d1.stdout).toContain('alerts: 1 firing (memory-high); 0 notification(s) sent');
    expect(server.received).toHaveLength(0);
    const list = JSON.parse((await t.run(['alerts', 'list', '--json'])).stdout);
    expect(list.alerts).toMatchObject([{ rule: 'memory-high', state: 'firing', silenced_by: sil.id }]);
    expect(JSON.parse((await t.run(['alerts', 'silences', '--json'])).stdout).silences).toEqual([sil]);
    const u = await t.run(['alerts', 'unsilence', 'memory-high', '--json']);
    expect(JSON.parse(u.stdout).ended).toMatchObject([{ id: sil.id, active: false }]);
    expect(JSON.parse((await t.run(['alerts', 'silences', '--json'])).stdout).silences).toEqual([]);
    const d2 = await t.run(['alerts', 'check', '--check', 'memory']);
    expect(d2.stdout).toContain('alerts: 1 firing (memory-high); 1 notification(s) sent');
    expect((await server.waitFor(1))[0]!.json.alerts[0].labels.alertname).toBe('memory-high');
    const h = await t.run(['alerts', 'history', '--since', '1h']);
    expect(h.stdout).toMatch(/silence_added .*swapping the disk[\s\S]*silence_expired[\s\S]*notification_sent/);
  });

  test('silences by label matchers: a regex over check and a negative host; one that does not match mutes nothing', async () => {
    const m = await failingMemoryRoot(
      'cx-alerts-match-',
      `alerts:\n  - { name: memory-high, check: memory, labels: { team: ops }, actions: [{ type: webhook, url: '${server.url}/match' }] }\n`,
    );
    try {
      const badMatcher = await m.run([
        'alerts',
        'silence',
        '--match',
        'team~ops',
        '--for',
        '1h',
        '--comment',
        'x',
        '--json',
      ]);
      expect(JSON.parse(badMatcher.stdout).error).toMatchObject({
        code: 'CX_ERR_USAGE',
        message: expect.stringContaining("'team~ops' is not a label matcher"),
      });
      const none = await m.run(['alerts', 'silence', '--for', '1h', '--comment', 'x', '--json']);
      expect(JSON.parse(none.stdout).error.message).toContain('an alert rule name or at least one --match');
      const other = await m.run([
        'alerts',
        'silence',
        '--match',
        'host=~"db.*"',
        '--for',
        '1h',
        '--comment',
        'db move',
      ]);
      expect(other.stdout).toMatch(/^silenced \{host=~"db\.\*"\} until /);
      const s = JSON.parse(
        (
          await m.run([
            'alerts',
            'silence',
            '--match',
            'check=~mem.*',
            'host!=db1',
            '--for',
            '1h',
            '--comment',
            'memory upgrade',
            '--json',
          ])
        ).stdout,
      );
      expect(s.matchers).toEqual([
        { name: 'check', op: '=~', value: 'mem.*' },
        { name: 'host', op: '!=', value: 'db1' },
      ]);
      const r = await m.run(['alerts', 'check', '--check', 'memory']);
      expect(r.stdout).toContain('alerts: 1 firing (memory-high); 0 notification(s) sent');
      const list = JSON.parse((await m.run(['alerts', 'list', '--json'])).stdout);
      expect(list.alerts).toMatchObject([{ rule: 'memory-high', silenced_by: s.id }]);
      expect(server.received.filter((x) => x.path === '/match')).toEqual([]);
      // Ended: the db silence alone does not match web1's alert, so it goes out.
      await m.run(['alerts', 'unsilence', s.id]);
      expect((await m.run(['alerts', 'check', '--check', 'memory'])).stdout).toContain('1 notification(s) sent');
    } finally {
      await m.cleanup();
    }
  });

  test('doctor --alert evaluates the rules once over its own run: the report as ever, the alerts said on stderr', async () => {
    const before = server.received.length;
    const r = await t.run(['doctor', '--check', 'memory', '--alert', '--json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).results[0]).toMatchObject({ check_id: 'memory', status: 'FAIL' });
    expect(r.stderr).toContain('alerts: 1 firing (memory-high); 0 notification(s) sent'); // told already
    await setMemory(t.root, 'healthy');
    const healed = await t.run(['doctor', '--check', 'memory', '--alert']);
    expect(healed.exitCode).toBe(0);
    expect(healed.stderr).toContain('alerts: none firing; 1 notification(s) sent');
    const [resolved] = (await server.waitFor(before + 1)).slice(before);
    expect(resolved!.json).toMatchObject({ status: 'resolved', alerts: [{ labels: { alertname: 'memory-high' } }] });
    expect((await t.run(['doctor', '--help'])).stdout).toContain('--alert');
  });

  test('--help says what each command does and takes', async () => {
    const h = await t.run(['alerts', 'silence', '--help']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain('--for <duration>');
    expect(h.stdout).toContain('cx-ops alerts silence disk-critical --for 2h --comment "disk swap"');
    expect(h.stdout).toContain('--match <matcher...>');
    expect((await t.run(['alerts', '--help'])).stdout).toMatch(/list[\s\S]*silence[\s\S]*unsilence/);
  });
});
