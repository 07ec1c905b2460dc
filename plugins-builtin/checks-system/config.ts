/**
 * The `checks:` section of config.yaml (<config_dir>/config.yaml) as this plugin sees it (validated against the
 * config_schema in plugin.yaml, defaults applied by the kernel).
 */
export interface PercentThresholds {
  warn_percent: number;
  fail_percent: number;
}

export interface ChecksConfig {
  disk_space: PercentThresholds & {
    inode_warn_percent: number;
    inode_fail_percent: number;
    /** Mount points to check; empty: every real file system in /proc/mounts. */
    mounts: string[];
    exclude_mounts: string[];
    /** Also check NFS/CIFS/… mounts (off: a hung server would hang the check). */
    include_remote: boolean;
    per_mount: Record<string, Partial<PercentThresholds>>;
    cleanup: { log_max_age_days: number; journal_max_size: string; apt_clean: boolean };
  };
  memory: PercentThresholds;
  swap_usage: PercentThresholds;
  cpu_load: { warn_per_core: number; fail_per_core: number; window: 1 | 5 | 15 };
  zombie_processes: { warn_count: number; fail_count: number };
  file_descriptors: PercentThresholds;
  time_sync: { warn_offset_ms: number; fail_offset_ms: number };
  systemd_failed: { ignore_units: string[] };
}
