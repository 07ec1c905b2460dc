// Every repair shows its plan and asks on a terminal; without one it needs -y. The real launcher
// on a temp root.
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

let t: TempRoot | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('repair permissions asks first', () => {
  it('no terminal and no -y: the plan is shown, nothing changes, exit 1; --dry-run exits 1 on differences; -y applies', async () => {
    t = await tempRoot('cx-perm-ask-');
    mkdirSync(join(t.root, 'etc'), { recursive: true });
    writeFileSync(join(t.root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\ndev:x:0:0:Dev:/home/dev:/bin/bash\n');
    writeFileSync(join(t.root, 'etc/group'), 'root:x:0:\n');
    mkdirSync(join(t.root, 'home/dev/.ssh'), { recursive: true });
    chmodSync(join(t.root, 'home/dev/.ssh'), 0o777);
    const mode = () => statSync(join(t!.root, 'home/dev/.ssh')).mode & 0o777;

    const refused = await t.run(['repair', 'permissions', '--user', 'dev']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `repair permissions will change 1 path(s):\n  ${t.root}/home/dev/.ssh: mode 0777 -> 0700`,
    );
    expect(refused.stderr).toContain('not changing anything: no terminal to ask. Run again with -y');
    expect(refused.stdout).toContain('DECLINED: not repaired');
    expect(mode()).toBe(0o777);

    const dry = await t.run(['repair', 'permissions', '--user', 'dev', '--dry-run']);
    expect(dry.exitCode).toBe(1);
    expect(mode()).toBe(0o777);

    const yes = await t.run(['-y', 'repair', 'permissions', '--user', 'dev']);
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(mode()).toBe(0o700);
    expect((await t.run(['repair', 'permissions', '--user', 'dev', '--dry-run'])).exitCode).toBe(0);
  });
});
