// The manifest reader and validateServiceManifest: the seed's examples, every bad-input case of
// issue 16 at once with the seed's messages and their positions, YAML syntax, JSON, schema.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readManifest, type ManifestSource } from '../../../plugins-builtin/deploy/read-manifest.js';
import { validateServiceManifest } from '../../../plugins-builtin/deploy/validate-manifest.js';
import {
  generateDeploymentPlan,
  formatPlanText,
  formatPlanDot,
} from '../../../plugins-builtin/deploy/deployment-plan.js';
import { getServiceDependencies, getServiceDependents } from '../../../plugins-builtin/deploy/deployment-order.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

function source(text: string, file = 'm.yaml'): ManifestSource {
  const r = readManifest(text, file);
  if (!r.ok) throw new Error(`unexpected problems: ${JSON.stringify(r.problems)}`);
  return r.source;
}

describe('the seed examples', () => {
  it('basic: valid, two waves, app after postgresql', () => {
    const s = source(fixture('basic.yaml'), 'basic.yaml');
    expect(validateServiceManifest(s)).toEqual([]);
    const plan = generateDeploymentPlan(s.manifest);
    expect(plan.waves.map((w) => w.services.map((x) => x.name))).toEqual([['postgresql'], ['app']]);
    expect(formatPlanText(plan)).toBe(
      [
        'Wave 1 (1 service):',
        '  postgresql  127.0.0.11  db.example.com - no dependencies',
        'Wave 2 (1 service):',
        '  app  127.0.0.12  app.example.com - after postgresql (wave 1)',
        '',
      ].join('\n'),
    );
  });

  it("full-stack: valid; the seed's six phases as waves; the disabled mail service is left out", () => {
    const s = source(fixture('full-stack.yaml'), 'full-stack.yaml');
    expect(validateServiceManifest(s)).toEqual([]);
    const plan = generateDeploymentPlan(s.manifest);
    expect(plan.waves.map((w) => w.services.map((x) => x.name))).toEqual([
      ['dns'],
      ['postgresql', 'caddy'],
      ['authentik'],
      ['vaultwarden', 'nextcloud'],
      ['media'],
      ['monitoring'],
    ]);
    expect(plan.disabled).toEqual(['mail']);
    expect(plan.waves[3]!.services[1]!.reason).toBe('after authentik (wave 3); also needs postgresql');
    expect(plan.waves[5]!.services[0]!.depends_on).toEqual([
      { service: 'vaultwarden', condition: 'service_healthy' },
      { service: 'media', condition: 'service_started' },
    ]);
    expect(formatPlanDot(plan)).toContain('  "media" -> "monitoring" [label="service_started"];\n');
    expect(getServiceDependencies(s.manifest, 'media')).toEqual([
      'nextcloud',
      'authentik',
      'postgresql',
      'caddy',
      'dns',
    ]);
    expect(getServiceDependents(s.manifest, 'authentik')).toEqual([
      'vaultwarden',
      'nextcloud',
      'mail',
      'monitoring',
      'media',
    ]);
  });

  it('JSON is accepted and gives the same manifest', () => {
    const yaml = source(fixture('full-stack.yaml')).manifest;
    const json = source(JSON.stringify(yaml), 'm.json');
    expect(json.manifest).toEqual(yaml);
    expect(validateServiceManifest(json)).toEqual([]);
  });

  it('JSON with a key twice is refused at the second one (JSON.parse alone would keep the last)', () => {
    const text = [
      '{',
      '  "services": {',
      '    "a": { "enable": true, "ip": "127.0.0.10", "hostname": "a.test" },',
      '    "a": { "enable": true, "ip": "127.0.0.11", "hostname": "b.test", "health_check": "\\"a\\": 1" }',
      '  }',
      '}',
      '',
    ].join('\n');
    expect(readManifest(text, 'dup.json')).toEqual({
      ok: false,
      problems: [
        {
          file: 'dup.json',
          line: 4,
          column: 5,
          field: '(root)',
          message: 'Error: Not a YAML or JSON manifest: Map keys must be unique',
          detail: 'Fix the syntax at that position.',
        },
      ],
    });
    // Without the second "a", a string holding `"a": 1` is no key.
    const once = text.replace('"a": { "enable": true, "ip": "127.0.0.11"', '"b": { "enable": true, "ip": "127.0.0.11"');
    expect(readManifest(once, 'once.json').ok).toBe(true);
  });
});

const BAD = `network:
  network_cidr: 127.0.0.0/24
services:
  service-a:
    enable: true
    ip: 127.0.0.10
    hostname: a.example.com
    depends_on: [service-c, service-b]
  service-c:
    enable: true
    ip: 127.0.0.10
    hostname: app.example.com
    depends_on: [service-a]
    ports: [8080]
  web:
    enable: true
    ip: 127.0.1.5
    hostname: app.example.com
    depends_on: [db]
    health_check: udp:53
    ports: [8080]
  db:
    enable: false
    ip: 127.0.0.20
    hostname: bad_host!
    driver: { type: nomad }
  api:
    enable: true
    ip: 127.0.0.10
    hostname: api.example.com
    ports: ["8080/tcp"]
`;

describe('every validation error at once', () => {
  it("reports them all, in file order, with the seed's messages, positions and details", () => {
    expect(validateServiceManifest(source(BAD))).toEqual([
      {
        file: 'm.yaml',
        line: 8,
        column: 5,
        field: 'services.service-a.depends_on',
        message: 'Error: Circular dependency detected: service-a',
        detail: 'service-a -> service-c -> service-a\nRemove one of these depends_on entries.',
      },
      {
        file: 'm.yaml',
        line: 8,
        column: 29,
        field: 'services.service-a.depends_on.1',
        message: 'Error: Missing service dependencies: service-b',
        detail: 'needed by service-a. Define services.service-b, or remove it from depends_on.',
      },
      {
        file: 'm.yaml',
        line: 11,
        column: 9,
        field: 'services.service-c.ip',
        message: 'Error: Duplicate IP addresses: 127.0.0.10',
        detail: 'used by service-a, service-c, api; give each service its own IP.',
      },
      {
        file: 'm.yaml',
        line: 17,
        column: 9,
        field: 'services.web.ip',
        message: 'Error: IP address outside network_cidr 127.0.0.0/24: 127.0.1.5',
        detail: 'services.web.ip must be inside network.network_cidr.',
      },
      {
        file: 'm.yaml',
        line: 18,
        column: 15,
        field: 'services.web.hostname',
        message: 'Error: Duplicate hostnames: app.example.com',
        detail: 'used by service-c, web; give each service its own hostname.',
      },
      {
        file: 'm.yaml',
        line: 19,
        column: 18,
        field: 'services.web.depends_on.0',
        message: 'Error: Enabled service depends on a disabled service: db',
        detail: 'needed by web. Enable db, or disable web, or remove db from its depends_on.',
      },
      {
        file: 'm.yaml',
        line: 20,
        column: 19,
        field: 'services.web.health_check',
        message: 'Error: Unknown health check form: udp:53',
        detail:
          "unknown health check form 'udp:'; known forms: systemctl is-active --quiet NAME, http://HOST[:PORT]/PATH, https://…, tcp:PORT, tcp:HOST:PORT, any other command (exit 0 healthy, 1 degraded, else unhealthy).",
      },
      {
        file: 'm.yaml',
        line: 25,
        column: 15,
        field: 'services.db.hostname',
        message: 'Error: Invalid hostname: bad_host!',
        detail:
          'A hostname is dot-separated labels of letters, digits and inner hyphens (RFC 1123), each at most 63 characters.',
      },
      {
        file: 'm.yaml',
        line: 26,
        column: 21,
        field: 'services.db.driver.type',
        message: 'Error: Unknown driver: nomad',
        detail: 'known drivers: command, supervisord, systemd.',
      },
      {
        file: 'm.yaml',
        line: 31,
        column: 13,
        field: 'services.api.ports.0',
        message: 'Error: Duplicate ports: 127.0.0.10:8080/tcp',
        detail: 'claimed by service-c, api; two services cannot listen on one IP and port.',
      },
    ]);
  });

  it('a driver missing its settings, and the drivers a registry knows', () => {
    const s = source(
      'services:\n  a:\n    enable: true\n    ip: 10.0.0.1\n    hostname: a\n    driver: { type: supervisord }\n  b:\n    enable: true\n    ip: 10.0.0.2\n    hostname: b\n    driver: { type: nomad, command: x }\n',
    );
    expect(validateServiceManifest(s, { drivers: ['supervisord', 'nomad'] })).toEqual([
      {
        file: 'm.yaml',
        line: 6,
        column: 5,
        field: 'services.a.driver',
        message: 'Error: Driver supervisord needs driver.command: a',
        detail: 'Set services.a.driver.command.',
      },
    ]);
  });
});

describe('clashes found by number', () => {
  it('hostnames ignore case; one service listing a port twice is no clash; 8080 and "8080/tcp" are one port, "8080/udp" another', () => {
    const s = source(
      [
        'services:',
        '  a: { enable: true, ip: 10.0.0.1, hostname: App.Example.com, ports: [8080, 8080, "53/udp"] }',
        '  b: { enable: true, ip: 10.0.0.2, hostname: app.example.COM, ports: [8080] }',
        '  c: { enable: true, ip: 10.0.0.1, hostname: c.example.com, ports: ["8080/tcp", "53/tcp"] }',
        '  d: { enable: true, ip: 10.0.0.1, hostname: d.example.com, ports: ["8080/udp"] }',
        '',
      ].join('\n'),
    );
    expect(validateServiceManifest(s).map((p) => [p.line, p.field, p.message, p.detail])).toEqual([
      [
        3,
        'services.b.hostname',
        'Error: Duplicate hostnames: app.example.com',
        'used by a, b; give each service its own hostname.',
      ],
      [4, 'services.c.ip', 'Error: Duplicate IP addresses: 10.0.0.1', 'used by a, c, d; give each service its own IP.'],
      [
        4,
        'services.c.ports.0',
        'Error: Duplicate ports: 10.0.0.1:8080/tcp',
        'claimed by a, c; two services cannot listen on one IP and port.',
      ],
    ]);
  });
});

describe('depends_on conditions a dependency cannot meet', () => {
  it('service_healthy of a service without a health check; service_completed_successfully of one that restarts', () => {
    const s = source(
      [
        'services:',
        '  db: { enable: true, ip: 10.0.0.1, hostname: db, driver: { type: supervisord, command: /bin/db } }',
        '  migrate: { enable: true, ip: 10.0.0.2, hostname: migrate, driver: { type: supervisord, command: /bin/migrate } }',
        '  seed: { enable: true, ip: 10.0.0.3, hostname: seed, restart_policy: never, driver: { type: supervisord, command: /bin/seed } }',
        '  app:',
        '    enable: true',
        '    ip: 10.0.0.4',
        '    hostname: app',
        '    depends_on: { db: { condition: service_healthy }, migrate: { condition: service_completed_successfully }, seed: { condition: service_completed_successfully } }',
        '',
      ].join('\n'),
    );
    expect(validateServiceManifest(s)).toEqual([
      {
        file: 'm.yaml',
        line: 9,
        column: 36,
        field: 'services.app.depends_on.db.condition',
        message: 'Error: Dependency condition service_healthy needs a health check: db',
        detail:
          'app waits for db to be healthy, but db has no health_check. Give services.db a health_check, or use condition: service_started.',
      },
      {
        file: 'm.yaml',
        line: 9,
        column: 77,
        field: 'services.app.depends_on.migrate.condition',
        message: 'Error: Dependency condition service_completed_successfully needs restart_policy never: migrate',
        detail:
          'app waits for migrate to run to its end, but restart_policy always (the default) restarts it. Set services.migrate.restart_policy: never.',
      },
    ]);
  });
});

describe('the schema', () => {
  it('every oneOf chooses between disjoint types (so the lean validator may read it as anyOf)', () => {
    const schema = JSON.parse(
      readFileSync(new URL('../../../schemas/deploy-manifest.schema.json', import.meta.url), 'utf8'),
    );
    const found: string[][] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (Array.isArray(o.oneOf)) {
        const types = (o.oneOf as Array<{ type?: string }>).map((b) => b.type ?? '?');
        found.push(types);
        // integer is a kind of number: the two together would overlap.
        expect(new Set(types.map((t) => (t === 'integer' ? 'number' : t))).size, JSON.stringify(o.oneOf)).toBe(
          types.length,
        );
        expect(types).not.toContain('?');
      }
      Object.values(o).forEach(walk);
    };
    walk(schema);
    expect(found.length).toBeGreaterThan(3);
  });
});

describe("the build's precompiled lean validator", () => {
  // Every deploy command reads a manifest: the build compiles the lean validator once, so no
  // process compiles the schema at start (it was most of a small plan's time).
  const file = new URL('../../../dist/plugins-builtin/deploy/deploy-manifest.validator.cjs', import.meta.url);
  const schema = JSON.parse(
    readFileSync(new URL('../../../schemas/deploy-manifest.schema.json', import.meta.url), 'utf8'),
  );
  const load = createRequire(import.meta.url);

  it('is in dist beside the plugin and judges manifests as the schema does', () => {
    const mod = load(fileURLToPath(file)) as { default?: (d: unknown) => boolean } & ((d: unknown) => boolean);
    const precompiled = mod.default ?? mod;
    const strict = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
    const valid = [fixture('basic.yaml'), fixture('full-stack.yaml')].map((t) => parseYaml(t) as Record<string, any>);
    const invalid = [
      { services: { a: { enable: true, ip: '127.0.0.11' } } },
      { services: { a: { enable: true, ip: '127.0.0.11', hostname: 'a', restart_policy: 'sometimes' } } },
      { services: { a: { enable: true, ip: '127.0.0.11', hostname: 'a', colour: 'red' } } },
      { services: { a: { enable: true, ip: '127.0.0.300', hostname: 'a' } } },
      { services: { a: { enable: true, ip: '127.0.0.11', hostname: 'a', depends_on: 'b' } } },
      { network: { gateway: 1 }, services: {} },
      { services: [] },
    ];
    for (const d of valid) expect([precompiled(d), strict(d)]).toEqual([true, true]);
    for (const d of invalid) expect([precompiled(d), strict(d)], JSON.stringify(d)).toEqual([false, false]);
  });
});

describe('input that is not a manifest', () => {
  it('YAML that does not parse: line and column', () => {
    const r = readManifest('services:\n  a:\n    enable: true\n    ip: [127.0.0.1\n', 'broken.yaml');
    expect(r).toEqual({
      ok: false,
      problems: [expect.objectContaining({ file: 'broken.yaml', line: 5, column: 1, field: '(root)' })],
    });
    expect(!r.ok && r.problems[0]!.message).toMatch(/^Error: Not a YAML or JSON manifest: /);
  });

  it('schema problems: every one, with field, expected and found', () => {
    const r = readManifest(
      'services:\n  a:\n    enable: yes\n    ip: 300.1.1.1\n    hostname: a\n    restart_policy: sometimes\n    colour: blue\n  b:\n    ip: 10.0.0.2\n',
      'schema.yaml',
    );
    expect(r).toEqual({
      ok: false,
      problems: [
        {
          file: 'schema.yaml',
          line: 3,
          column: 13,
          field: 'services.a.enable',
          message: 'Error: Invalid field services.a.enable: must be of type boolean (found: "yes")',
          detail: 'The format is schemas/deploy-manifest.schema.json.',
        },
        {
          file: 'schema.yaml',
          line: 4,
          column: 9,
          field: 'services.a.ip',
          message: 'Error: Invalid field services.a.ip: must be an IPv4 address like 192.168.1.10 (found: "300.1.1.1")',
          detail: 'The format is schemas/deploy-manifest.schema.json.',
        },
        {
          file: 'schema.yaml',
          line: 6,
          column: 21,
          field: 'services.a.restart_policy',
          message:
            'Error: Invalid field services.a.restart_policy: must be one of: "always", "unless-stopped", "never" (found: "sometimes")',
          detail: 'The format is schemas/deploy-manifest.schema.json.',
        },
        {
          file: 'schema.yaml',
          line: 7,
          column: 5,
          field: 'services.a.colour',
          message:
            'Error: Invalid field services.a.colour: is not a known field; expected one of: enable, ip, hostname, depends_on, health_check, restart_policy, restart, resources, ports, environment, volumes, driver',
          detail: 'The format is schemas/deploy-manifest.schema.json.',
        },
        {
          file: 'schema.yaml',
          line: 8,
          column: 3,
          field: 'services.b.enable',
          message: 'Error: Invalid field services.b.enable: is required but missing',
          detail: 'The format is schemas/deploy-manifest.schema.json.',
        },
        {
          file: 'schema.yaml',
          line: 8,
          column: 3,
          field: 'services.b.hostname',
          message: 'Error: Invalid field services.b.hostname: is required but missing',
          detail: 'The format is schemas/deploy-manifest.schema.json.',
        },
      ],
    });
  });

  it('a list instead of a mapping', () => {
    const r = readManifest('- a\n- b\n', 'list.yaml');
    expect(r).toEqual({
      ok: false,
      problems: [
        {
          file: 'list.yaml',
          line: 1,
          column: 1,
          field: '(root)',
          message: 'Error: A manifest is a mapping with `services:` (and optionally `network:` and `update:`)',
          detail: 'found: a list',
        },
      ],
    });
  });
});
