/** Validators of the daemon's HTTP responses against schemas/daemon-*.schema.json. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

const dir = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const ajv = new Ajv.default({ allErrors: true, strict: true }).addFormat(
  'date-time',
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
);
for (const f of readdirSync(dir).filter((f) => f.startsWith('daemon-')))
  ajv.addSchema(JSON.parse(readFileSync(dir + f, 'utf8')));

/** Throws with ajv's errors when `body` does not match the named schema. */
export function expectSchema(name: string, body: unknown): void {
  const validate = ajv.getSchema(`https://cx-ops.dev/schemas/${name}.schema.json`);
  if (!validate) throw new Error(`no schema ${name}`);
  if (!validate(body))
    throw new Error(
      `${name}: ${JSON.stringify(validate.errors, null, 2)}\n${JSON.stringify(body, null, 2).slice(0, 3000)}`,
    );
}
