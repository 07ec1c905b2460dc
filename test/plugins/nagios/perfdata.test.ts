import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { outcomeFromRun } from '../../../plugins-builtin/nagios/nagios-check.js';
import { isRange, parsePerfItem, parsePluginOutput, splitPerfdata } from '../../../plugins-builtin/nagios/perfdata.js';

const PLUGINS = '/usr/lib/nagios/plugins';

describe('perfdata parser', () => {
  test('quoted labels with spaces, = and doubled quotes; units; empty and trailing fields', () => {
    const out = parsePluginOutput(
      "DISK OK - free space: / 3326 MB (56%); | '/'=2643MB;5948;5958;0;5968 'my disk=1''s'=12.5%;80;90 time=0.003s;;;0 rta=U;;; count=7c\n",
    );
    expect(out.text).toBe('DISK OK - free space: / 3326 MB (56%);');
    expect(out.perfdata_errors).toEqual([]);
    expect(out.perfdata).toEqual([
      { label: '/', value: 2643, uom: 'MB', warn: '5948', crit: '5958', min: 0, max: 5968 },
      { label: "my disk=1's", value: 12.5, uom: '%', warn: '80', crit: '90', min: null, max: null },
      { label: 'time', value: 0.003, uom: 's', warn: null, crit: null, min: 0, max: null },
      { label: 'rta', value: null, uom: '', warn: null, crit: null, min: null, max: null },
      { label: 'count', value: 7, uom: 'c', warn: null, crit: null, min: null, max: null },
    ]);
  });

  test('long output with perfdata on later lines (the plugin API multi-line form)', () => {
    const out = parsePluginOutput('OK - all good | a=1;2;3\nline two\nline three | b=2\nc=3.5e2KB;@10:20;~:30\n');
    expect(out.text).toBe('OK - all good');
    expect(out.long_text).toEqual(['line two', 'line three ']);
    expect(out.perfdata.map((p) => [p.label, p.value, p.uom, p.warn, p.crit])).toEqual([
      ['a', 1, '', '2', '3'],
      ['b', 2, '', null, null],
      ['c', 350, 'KB', '@10:20', '~:30'],
    ]);
  });

  test('malformed items are reported with the reason, the good ones kept', () => {
    const out = parsePluginOutput("WARNING | ok=1 =5 'unterminated=3 bad=abc x=1;2;3;4;5;6 y=2;10:x\n");
    expect(out.perfdata.map((p) => p.label)).toEqual(['ok']);
    expect(out.perfdata_errors).toEqual([
      'expected label=value, found "=5"',
      'unterminated quoted label in "\'unterminated=3 bad=abc x=1;2;3;4;5;6 y=2;10:x"',
    ]);
    expect(() => parsePerfItem('bad=abc')).toThrow('value of \'bad\' is not a number: "abc"');
    expect(() => parsePerfItem('x=1;2;3;4;5;6')).toThrow("too many ';' fields");
    expect(() => parsePerfItem('y=2;10:x')).toThrow("warn threshold of 'y' is not a range");
    expect(() => parsePerfItem('z=2;;;zero')).toThrow("min of 'z' is not a number");
  });

  test('splitting honours quotes; ranges', () => {
    expect(splitPerfdata("  'a b'=1  c=2 'it''s'=3 ")).toEqual(["'a b'=1", 'c=2', "'it''s'=3"]);
    for (const r of ['10', '10:', '~:10', '10:20', '@10:20', '-5:5', '1.5e3']) expect(isRange(r)).toBe(true);
    for (const r of ['abc', '10:x', '@', '1..2']) expect(isRange(r)).toBe(false);
  });
});

describe('exit codes and garbage', () => {
  const cfg = { command: ['/x/check_thing'], timeout_seconds: 5 };
  const run = (
    exitCode: number | null,
    stdout: string,
    extra: Partial<{ signal: string; stderr: string; timedOut: boolean }> = {},
  ) =>
    outcomeFromRun(cfg, {
      exitCode,
      stdout,
      signal: extra.signal ?? null,
      stderr: extra.stderr ?? '',
      timedOut: extra.timedOut ?? false,
    });

  test('0/1/2/3 map to PASS/WARN/FAIL/ERROR with the text as the message', () => {
    expect(run(0, 'OK - fine | a=1\n')).toMatchObject({
      status: 'PASS',
      message: 'OK - fine',
      details: { exit_code: 0, perfdata: [{ label: 'a', value: 1 }] },
    });
    expect(run(1, 'WARNING - hm\n')).toMatchObject({ status: 'WARN', message: 'WARNING - hm' });
    expect(run(2, 'CRITICAL - bad\n')).toMatchObject({ status: 'FAIL', message: 'CRITICAL - bad' });
    expect(run(3, 'UNKNOWN - no idea\n')).toMatchObject({
      status: 'ERROR',
      message: 'UNKNOWN - no idea',
      fix_id: null,
    });
  });

  test('no output, binary output, odd exit codes, signals and timeouts are UNKNOWN with the reason', () => {
    expect(run(0, '')).toMatchObject({
      status: 'ERROR',
      message: 'UNKNOWN: /x/check_thing printed no readable status line (exit 0)',
    });
    expect(run(0, '\x00\x01\x02garbage\n')).toMatchObject({
      status: 'ERROR',
      message: expect.stringContaining('printed no readable status line'),
    });
    expect(run(7, 'OK really\n')).toMatchObject({
      status: 'ERROR',
      message: 'UNKNOWN: /x/check_thing exited with 7, outside the plugin API (0-3): OK really',
    });
    expect(run(127, '', { stderr: 'not found\n' })).toMatchObject({
      status: 'ERROR',
      message: 'UNKNOWN: /x/check_thing could not be run (exit 127): not found',
    });
    expect(run(null, '', { signal: 'SIGKILL' })).toMatchObject({
      status: 'ERROR',
      message: 'UNKNOWN: /x/check_thing was killed by SIGKILL',
    });
    expect(run(null, '', { timedOut: true })).toMatchObject({
      status: 'ERROR',
      message: 'UNKNOWN: /x/check_thing timed out after 5s',
    });
  });
});

describe("Debian's monitoring-plugins, for real", () => {
  const real = async (argv: string[]) => {
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, env: { LC_ALL: 'C' } });
    return outcomeFromRun(
      { command: argv, timeout_seconds: 10 },
      { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stdout: r.stdout, stderr: r.stderr, timedOut: false },
    );
  };

  test('check_disk: PASS with generous thresholds, FAIL when the limit is above the free space; perfdata per mount', async () => {
    const ok = await real([`${PLUGINS}/check_disk`, '-w', '1%', '-c', '1%', '-p', '/']);
    expect(ok.status).toBe('PASS');
    expect(ok.details!.perfdata).toEqual([
      expect.objectContaining({ label: '/', uom: 'B', value: expect.any(Number), min: 0, max: expect.any(Number) }),
    ]);
    const bad = await real([`${PLUGINS}/check_disk`, '-w', '100%', '-c', '100%', '-p', '/']);
    expect(bad.status).toBe('FAIL');
    expect(bad.message).toMatch(/^DISK CRITICAL/);
  });

  test('check_load: load1/5/15 perfdata; CRITICAL with a zero limit', async () => {
    const ok = await real([`${PLUGINS}/check_load`, '-w', '1000,1000,1000', '-c', '2000,2000,2000']);
    expect(ok.status).toBe('PASS');
    expect((ok.details!.perfdata as Array<{ label: string }>).map((p) => p.label)).toEqual([
      'load1',
      'load5',
      'load15',
    ]);
    const crit = await real([`${PLUGINS}/check_load`, '-w', '0,0,0', '-c', '0,0,0']);
    expect(crit.status).toBe('FAIL');
  });

  test('check_procs: a count with perfdata; a bad argument is UNKNOWN (ERROR)', async () => {
    const ok = await real([`${PLUGINS}/check_procs`, '-w', '100000', '-c', '200000']);
    expect(ok.status).toBe('PASS');
    expect(ok.details!.perfdata).toEqual([expect.objectContaining({ label: 'procs', value: expect.any(Number) })]);
    const bad = await real([`${PLUGINS}/check_procs`, '--no-such-option']);
    expect(bad.status).toBe('ERROR');
  });

  test("check_swap: its exit code decides the status (as a Nagios check cx-ops reports what the plugin says; cx-ops' own swap_usage passes a host without swap)", async () => {
    const argv = [`${PLUGINS}/check_swap`, '-w', '50%', '-c', '10%'];
    const raw = await execa(argv[0]!, argv.slice(1), { reject: false, env: { LC_ALL: 'C' } });
    const r = await real(argv);
    expect(r.status).toBe(['PASS', 'WARN', 'FAIL', 'ERROR'][raw.exitCode!]);
    expect(r.message).toMatch(/^SWAP (OK|WARNING|CRITICAL)/);
    expect(r.details!.perfdata).toEqual([
      expect.objectContaining({ label: 'swap', uom: expect.stringMatching(/^(B|MB)$/) }),
    ]);
  });
});
