/**
 * A hotfix module as read from its index (schemas/hotfix-index.schema.json): the seed's
 * metadata, config, operations and validation, with defaults applied and the line of every
 * operation kept for messages.
 */

/** The fields every operation has, whatever its type. */
export interface OperationBase {
  id: string;
  type: string;
  description?: string;
  enabled: boolean;
  phase: number;
  dependencies: string[];
  critical: boolean;
  /** Any type-specific fields (copy's source/target, execute's timeout, ...). */
  [field: string]: unknown;
}

export interface Check {
  command: string;
  expected: string;
  description?: string;
}

export interface HotfixConfig {
  /** Host path (placed under --root). */
  backup_dir: string;
  log_file: string;
  rollback_on_failure: boolean;
  debug: boolean;
  log_level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
}

export interface HotfixModule {
  /** The module directory, as given on the command line (absolute). */
  dir: string;
  /** index.json, index.yaml or index.yml inside it. */
  file: string;
  metadata: { schema_version: string; description?: string; priority?: string };
  config: HotfixConfig;
  operations: OperationBase[];
  validation: { pre_checks: Check[]; post_checks: Check[] };
  /**
   * The line of an operation (by id) or of one of its fields, for messages: worked out only
   * when a message needs it (positions of a JSON index cost a second, YAML, parse).
   */
  lineOf(op: string, field?: string): number | undefined;
}

export const DEFAULT_BACKUP_DIR = '/var/backups/hotfix';
export const DEFAULT_LOG_FILE = '/var/log/cx/hotfix.log';
