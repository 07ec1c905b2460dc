/** The JSON Schemas of the repair/update commands' --json outputs, compiled for the tests. */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
const cache = new Map<string, ValidateFunction>();

/** Throws with ajv's errors when `data` does not match schemas/<name>.schema.json. */
export function assertMatchesSchema(name: string, data: unknown): void {
  let v = cache.get(name);
  if (!v) {
    v = ajv.compile(JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8')));
    cache.set(name, v);
  }
  if (!v(data))
    throw new Error(`output does not match schemas/${name}.schema.json: ${JSON.stringify(v.errors, null, 1)}`);
}
