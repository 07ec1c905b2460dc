/**
 * `cx-ops plugins create`: a plugin directory that builds, and passes its own test under the
 * real sandbox, out of the box. `cx-ops plugins build`: bundles src/index.ts into `main`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { CxError } from '../errors.js';
import { readManifest } from '../loader/manifest.js';
import { PLUGIN_NAME_PATTERN } from '../../sdk/index.js';

/** Types whose contribution kind exists without other plugins (a `task` kind arrives with a scheduler plugin). */
export const SCAFFOLD_TYPES = ['check', 'command', 'fix'] as const;

const snake = (name: string) => name.replace(/-/g, '_');

function sources(name: string, type: string): { index: string; test: string; permissions: string } {
  const id = snake(name);
  if (type === 'command') {
    return {
      permissions: '',
      index: `import { definePlugin, defineCommand } from 'cx-ops/sdk';

export default definePlugin({
  name: '${name}',
  contributes: [
    defineCommand({
      name: '${name}',
      description: 'Say hello',
      arguments: [{ name: 'name', description: 'who to greet' }],
      async run(ctx, { args }) {
        ctx.io.out(\`Hello, \${args.name ?? 'World'}!\\n\`);
        return 0;
      },
    }),
  ],
});
`,
      test: `import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

test('greets by name under the sandbox', async () => {
  const plugin = await startPlugin(new URL('..', import.meta.url));
  try {
    const out = await plugin.command('${name}', { args: { name: 'Ada' } });
    expect(out).toEqual({ exitCode: 0, stdout: 'Hello, Ada!\\n', stderr: '' });
  } finally {
    await plugin.close();
  }
});
`,
    };
  }
  if (type === 'check') {
    return {
      permissions: `permissions:
  read:
    - /proc/loadavg
`,
      index: `import { definePlugin, defineCheck, pass, warn } from 'cx-ops/sdk';

export default definePlugin({
  name: '${name}',
  contributes: [
    defineCheck({
      id: '${id}',
      name: '${name}',
      description: 'Warns when the 1-minute load average is above 4',
      category: 'performance',
      severity: 'medium',
      async run(ctx) {
        const text = await ctx.fs.readFile(\`\${ctx.env.root === '/' ? '' : ctx.env.root}/proc/loadavg\`);
        const load = Number(text.split(' ')[0]);
        return load > 4 ? warn(\`load is \${load}\`, { load }) : pass(\`load is \${load}\`, { load });
      },
    }),
  ],
});
`,
      test: `import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

test('passes on a quiet host and warns on a busy one', async () => {
  const quiet = await startPlugin(new URL('..', import.meta.url), {
    grants: ['read:/proc/loadavg'],
    fakes: { fs: { readFile: async () => '0.50 0.40 0.30 1/100 42\\n' } },
  });
  try {
    expect(await quiet.check('${id}')).toMatchObject({ check_id: '${id}', status: 'PASS', message: 'load is 0.5' });
  } finally {
    await quiet.close();
  }
  const busy = await startPlugin(new URL('..', import.meta.url), {
    grants: ['read:/proc/loadavg'],
    fakes: { fs: { readFile: async () => '9.00 8.00 7.00 1/100 42\\n' } },
  });
  try {
    expect(await busy.check('${id}')).toMatchObject({ status: 'WARN', details: { load: 9 } });
  } finally {
    await busy.close();
  }
});
`,
    };
  }
  return {
    permissions: '',
    index: `import { definePlugin, defineFix } from 'cx-ops/sdk';

export default definePlugin({
  name: '${name}',
  contributes: [
    defineFix({
      id: '${id}',
      name: '${name}',
      description: 'Describe what this fix changes',
      safe: false,
      async run(ctx, { result }) {
        return { ok: true, message: \`nothing to do for \${result.check_id}\`, actions: [] };
      },
    }),
  ],
});
`,
    test: `import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

test('runs under the sandbox', async () => {
  const plugin = await startPlugin(new URL('..', import.meta.url));
  try {
    const result = { check_id: 'x', name: 'x', status: 'FAIL', message: '', details: {}, fix_id: '${id}', duration_ms: 0 };
    expect(await plugin.invoke('fix', '${id}', { result })).toMatchObject({ ok: true, message: 'nothing to do for x' });
  } finally {
    await plugin.close();
  }
});
`,
  };
}

/**
 * The root of this cx-ops installation (the directory of its package.json), found from this
 * file's own location, whether it runs from dist/ or from the sources. No cx-ops package is
 * published on npm, so a scaffold depends on the installation that created it (`file:`).
 */
export function cxOpsPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'cx-ops') return dir;
    } catch {
      /* not here: look one level up */
    }
    const up = dirname(dir);
    if (up === dir) throw new CxError('CX_ERR_IO', { path: fileURLToPath(import.meta.url), detail: 'no package.json of cx-ops above this file; reinstall cx-ops' });
    dir = up;
  }
}

/** Writes a new plugin directory `parent/name`; refuses to overwrite an existing one. */
export async function createPluginScaffold(name: string, type: string, parent: string, kernelVersion: string): Promise<string> {
  if (!PLUGIN_NAME_PATTERN.test(name)) {
    throw new CxError('CX_ERR_USAGE', { detail: `'${name}' is not a valid plugin name: use lower-case words joined by '-'.`, hint: 'cx-ops plugins create disk-guard --type check' });
  }
  if (!(SCAFFOLD_TYPES as readonly string[]).includes(type)) {
    throw new CxError('CX_ERR_USAGE', { detail: `unknown plugin type '${type}'; choose one of: ${SCAFFOLD_TYPES.join(', ')}.` });
  }
  const dir = resolve(parent, name);
  if (await stat(dir).then(() => true, () => false)) {
    throw new CxError('CX_ERR_USAGE', { detail: `${dir} already exists; nothing was written.`, hint: 'choose another name or --dir' });
  }
  const s = sources(name, type);
  const major = kernelVersion.split('.')[0];
  const files: Record<string, string> = {
    'plugin.yaml': `name: ${name}
version: 0.1.0
description: A ${type} plugin for cx-ops
author: You
plugin_type: ${type}
main: dist/index.js
cx_version: ">=${kernelVersion} <${Number(major) + 1}.0.0"
tier: sandboxed
${s.permissions}`,
    'src/index.ts': s.index,
    'test/plugin.test.ts': s.test,
    'package.json': `${JSON.stringify(
      {
        name: `cx-plugin-${name}`,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: { build: 'cx-ops plugins build .', test: 'vitest run' },
        devDependencies: { 'cx-ops': `file:${cxOpsPackageRoot()}`, vitest: '^4.0.0' },
      },
      null,
      2,
    )}\n`,
    'vitest.config.js': `export default { test: { pool: 'forks', execArgv: ['--no-node-snapshot'], testTimeout: 60000 } };\n`,
    'README.md': `# ${name}\n\nA cx-ops ${type} plugin.\n\n    npm install\n    npm test\n    npm run build     # bundles src/index.ts into dist/index.js\n\nSee the cx-ops plugin author guide (docs/plugin-authors.md).\n`,
  };
  for (const [rel, text] of Object.entries(files)) {
    const f = join(dir, rel);
    await mkdir(dirname(f), { recursive: true });
    await writeFile(f, text, { flag: 'wx' });
  }
  return dir;
}

/** Bundles dir/src/index.ts (or index.ts / index.js) into the manifest's main file. */
export async function buildPluginDir(dirArg: string): Promise<string> {
  const dir = resolve(dirArg);
  const { manifest } = await readManifest(dir);
  const candidates = ['src/index.ts', 'src/index.js', 'index.ts'];
  let entry: string | undefined;
  for (const c of candidates) if (await stat(join(dir, c)).then(() => true, () => false)) entry = join(dir, c);
  if (!entry) throw new CxError('CX_ERR_USAGE', { detail: `${dir}: no src/index.ts to bundle.`, hint: 'put the plugin source in src/index.ts' });
  const { bundlePluginFile } = await import('../../sdk/bundle.js');
  const out = join(dir, manifest.main);
  await bundlePluginFile(entry, out);
  return out;
}
