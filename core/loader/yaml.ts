/**
 * YAML files of the kernel (config.yaml, plugin.yaml): read as regular files under a size cap
 * (core/read-file.ts) and parsed by the SDK's one YAML reader (sdk/yaml.ts), so every problem is
 * CX_ERR_YAML_SYNTAX or CX_ERR_IO naming the file and the position.
 */
import { parseYaml as parseYamlDocument, type YamlDocument } from '../../sdk/yaml.js';
import { readRegularFile } from '../read-file.js';

export type YamlFile = YamlDocument;

/** Parses YAML text or bytes; a syntax error becomes CX_ERR_YAML_SYNTAX with line and column. */
export function parseYaml(text: string | Uint8Array, file: string): YamlFile {
  return parseYamlDocument(text, file);
}

/** Reads and parses a YAML file; a missing file returns undefined. */
export async function readYamlFile(file: string): Promise<YamlFile | undefined> {
  const bytes = await readRegularFile(file);
  return bytes === undefined ? undefined : parseYamlDocument(bytes, file);
}
