// The seed's library functions (plugins-builtin/deploy/deploy-library.ts) on plain manifest
// objects, as another plugin or a script uses them; the same module built in dist/, and
// imported by a third party's script as `cx-ops/sdk/deploy` (package.json exports).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as lib from '../../../plugins-builtin/deploy/deploy-library.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

const manifest = {
  services: {
    db: { enable: true, ip: '10.0.0.1', hostname: 'db.test' },
    app: { enable: true, ip: '10.0.0.2', hostname: 'app.test', depends_on: ['db', 'cache'] },
    web: { enable: true, ip: '10.0.0.2', hostname: 'web.test', depends_on: ['app'] },
  },
};

describe('deploy-library', () => {
  it('validateServiceManifest on a plain object: the seed messages, no positions', () => {
    expect(lib.validateServiceManifest(manifest).map((p) => [p.line, p.message])).toEqual([
      [0, 'Error: Missing service dependencies: cache'],
      [0, 'Error: Duplicate IP addresses: 10.0.0.2'],
    ]);
  });

  it('getDeploymentOrder, getServiceDependencies, generateDeploymentPlan, scripts', () => {
    expect(lib.getDeploymentOrder(manifest)).toEqual([['db'], ['app'], ['web']]);
    expect(lib.getServiceDependencies(manifest, 'web')).toEqual(['app', 'db']);
    expect(lib.generateDeploymentPlan(manifest).waves.map((w) => w.wave)).toEqual([1, 2, 3]);
    expect(lib.generateRollbackScript(manifest, 'app')).toContain(
      "echo 'stopping web'; # web: no driver\necho 'stopping app'; # app: no driver\n",
    );
    expect(lib.generateHealthCheck('db', manifest.services.db)).toContain('# db: no health_check; counted healthy');
    expect(lib.generateHealthMonitor(manifest)).toContain('check_web');
  });

  it('is built into dist/ with the same exports', async () => {
    const built = await import(new URL('../../../dist/plugins-builtin/deploy/deploy-library.js', import.meta.url).href);
    expect(Object.keys(built).sort()).toEqual(Object.keys(lib).sort());
  });

  it('is exported as cx-ops/sdk/deploy: a script outside the repository imports it, with its types', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-deploy-lib-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(REPO, join(dir, 'node_modules', 'cx-ops'));
      writeFileSync(
        join(dir, 'plan.mjs'),
        [
          "import { getDeploymentOrder, validateServiceManifest } from 'cx-ops/sdk/deploy';",
          `const m = ${JSON.stringify(manifest)};`,
          'console.log(JSON.stringify({ order: getDeploymentOrder(m), problems: validateServiceManifest(m).map((p) => p.message) }));',
        ].join('\n'),
      );
      const out = execFileSync(process.execPath, ['plan.mjs'], { cwd: dir, encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({
        order: [['db'], ['app'], ['web']],
        problems: ['Error: Missing service dependencies: cache', 'Error: Duplicate IP addresses: 10.0.0.2'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    const types = readFileSync(join(REPO, pkg.exports['./sdk/deploy'].types), 'utf8');
    expect(types).toContain('validateServiceManifest');
    expect(types).toContain('generateDeploymentPlan');
  });
});
