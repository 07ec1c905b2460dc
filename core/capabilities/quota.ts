/**
 * Per-plugin write quotas of the sandboxed tier: how many bytes and how many files (directory
 * entries: files, directories, symlinks, links) a plugin may add to disk through the fs
 * capability in one run (one kernel process). What it removes is credited back, so a plugin that
 * rewrites the same state file every cycle of a daemon never runs out; one that keeps adding
 * does. The growth is reserved before the change and given back when the change fails. Trusted
 * plugins run in-process with Node's own APIs, so a quota would not hold them: it applies to
 * sandboxed plugins (config.yaml `plugins.sandbox.write_quota_mb`, default 256, and
 * `write_quota_files`, default 10,000; schemas/config.schema.json).
 */
import { CxError } from '../errors.js';

/** The limits of one plugin. */
export interface WriteQuotaLimits {
  bytes: number;
  files: number;
}

export class WriteQuota {
  private bytes = 0;
  private files = 0;

  constructor(
    readonly plugin: string,
    readonly limits: WriteQuotaLimits,
  ) {}

  /** What has been added so far (for tests and diagnostics). */
  get used(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.files };
  }

  /**
   * Reserves `bytes` and `files` of growth for `action` (negative: freed); throws
   * CX_ERR_WRITE_QUOTA, reserving nothing, when either would pass its limit.
   */
  take(bytes: number, files: number, action: string): void {
    if (bytes > 0 && this.bytes + bytes > this.limits.bytes)
      throw this.over('bytes', this.limits.bytes, this.bytes, bytes, action, 'write_quota_mb');
    if (files > 0 && this.files + files > this.limits.files)
      throw this.over('files', this.limits.files, this.files, files, action, 'write_quota_files');
    this.bytes = Math.max(0, this.bytes + bytes);
    this.files = Math.max(0, this.files + files);
  }

  /** Gives back what `take` reserved (the change failed). */
  give(bytes: number, files: number): void {
    this.bytes = Math.max(0, this.bytes - bytes);
    this.files = Math.max(0, this.files - files);
  }

  private over(what: 'bytes' | 'files', limit: number, used: number, asked: number, action: string, setting: string) {
    return new CxError('CX_ERR_WRITE_QUOTA', { plugin: this.plugin, what, limit, used, asked, action, setting });
  }
}
