import { describe, expect, test } from 'vitest';
import { HookBus } from '../../core/hooks.js';
import { HookPriority } from '../../sdk/index.js';

describe('hook bus', () => {
  test('taps run by priority, then registration order', async () => {
    const bus = new HookBus();
    const seen: string[] = [];
    bus.tap('post_check', { plugin: 'late', priority: HookPriority.LOW }, async () => void seen.push('late'));
    bus.tap('post_check', { plugin: 'first', priority: HookPriority.HIGHEST }, async () => void seen.push('first'));
    bus.tap('post_check', { plugin: 'normal-a' }, async () => void seen.push('normal-a'));
    bus.tap('post_check', { plugin: 'normal-b' }, async () => void seen.push('normal-b'));
    const out = await bus.call('post_check', { check_id: 'x' });
    expect(seen).toEqual(['first', 'normal-a', 'normal-b', 'late']);
    expect(out).toEqual({ proceed: true, vetoedBy: undefined, payload: { check_id: 'x' }, errors: [] });
  });

  test('a pre_fix tap returning false vetoes, names the plugin, and later taps do not run', async () => {
    const bus = new HookBus();
    const seen: string[] = [];
    bus.tap('pre_fix', { plugin: 'approver' }, async () => {
      seen.push('approver');
      return true;
    });
    bus.tap('pre_fix', { plugin: 'change-freeze', priority: HookPriority.LOW }, async () => false);
    bus.tap('pre_fix', { plugin: 'never', priority: HookPriority.LOWEST }, async () => void seen.push('never'));
    const out = await bus.call('pre_fix', { fix_id: 'restart' });
    expect(out.proceed).toBe(false);
    expect(out.vetoedBy).toBe('change-freeze');
    expect(seen).toEqual(['approver']);
  });

  test('a throwing tap and a hanging tap are reported with their plugin; the others still run', async () => {
    const bus = new HookBus();
    const seen: string[] = [];
    bus.tap('post_check', { plugin: 'thrower' }, async () => {
      throw new Error('boom');
    });
    bus.tap('post_check', { plugin: 'hanger', timeoutMs: 50 }, () => new Promise(() => {}));
    bus.tap('post_check', { plugin: 'fine', priority: HookPriority.LOW }, async () => void seen.push('fine'));
    const out = await bus.call('post_check', {});
    expect(seen).toEqual(['fine']);
    expect(out.proceed).toBe(true);
    expect(out.errors.map((e) => e.toJSON())).toEqual([
      {
        code: 'CX_ERR_PLUGIN_THREW',
        plugin: 'thrower',
        hook: 'post_check',
        message: "plugin 'thrower' failed in its 'post_check' tap: boom",
      },
      {
        code: 'CX_ERR_TAP_TIMEOUT',
        plugin: 'hanger',
        hook: 'post_check',
        message:
          "plugin 'hanger' did not finish its 'post_check' tap within 50 ms; it was skipped and the run went on.",
      },
    ]);
  });

  test('plugin-declared hooks: waterfall passes the payload along; a second declaration is refused', async () => {
    const bus = new HookBus();
    bus.declare('pre_update', 'waterfall', 'before an update', 'updates');
    bus.tap('pre_update', { plugin: 'a' }, async (p) => ({ ...(p as object), a: 1 }));
    bus.tap('pre_update', { plugin: 'b' }, async (p) => ({ ...(p as object), b: 2 }));
    expect((await bus.call('pre_update', { n: 0 })).payload).toEqual({ n: 0, a: 1, b: 2 });
    expect(() => bus.declare('pre_update', 'series', 'again', 'other')).toThrow(
      expect.objectContaining({
        code: 'CX_ERR_DECLARATION_DUPLICATE',
        message: expect.stringContaining("which plugin 'updates' already declares"),
      }),
    );
    expect(() => bus.declare('pre_fix', 'series', 'again', 'other')).toThrow(
      expect.objectContaining({
        code: 'CX_ERR_DECLARATION_DUPLICATE',
        message: expect.stringContaining('which the kernel already declares'),
      }),
    );
  });

  test('tapping an unknown hook names the known hooks', () => {
    const bus = new HookBus();
    expect(() => bus.tap('pre_chek', { plugin: 'typo' }, async () => {})).toThrow(
      expect.objectContaining({
        code: 'CX_ERR_HOOK_UNKNOWN',
        plugin: 'typo',
        message: expect.stringContaining('pre_check'),
      }),
    );
  });

  test('the kernel hook table is frozen', () => {
    const bus = new HookBus();
    expect(Object.isFrozen(bus.kernel)).toBe(true);
    expect(Object.keys(bus.kernel)).toEqual([
      'startup',
      'shutdown',
      'plugin_loaded',
      'pre_check',
      'post_check',
      'pre_fix',
      'post_fix',
    ]);
  });
});
