/* Generated from schemas/snapshot-manifest.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: e10a2a85f41ea2ba */

/**
 * Written last, inside a partial directory that is renamed into place: a snapshot without it is never listed.
 * Files are in <area>.tar beside it (numeric owners, modes, symlinks).
 */
export interface SnapshotManifest {
  version: 1;
  /**
   * YYYYMMDD-HHMMSS (UTC), -N when several are taken within a second
   */
  id: string;
  /**
   * ISO 8601 time the snapshot was taken
   */
  created: string;
  reason: string;
  root: string;
  complete: true;
  areas: SnapshotArea[];
  packages: {
    updater: string | null;
    available: boolean;
    reason?: string;
    list: InstalledPackage[];
  };
}
/**
 * one snapshotted directory: where it was, its archive, and its entries as they were
 */
export interface SnapshotArea {
  /**
   * config, data, or path:<host path> from updates.snapshot_paths
   */
  name: string;
  /**
   * the directory as it was when the snapshot was taken
   */
  dir: string;
  present: boolean;
  /**
   * archive file name inside the snapshot directory (null when the directory was absent)
   */
  archive: string | null;
  /**
   * paths left out (the snapshot store itself, updates.snapshot_exclude)
   */
  exclude: string[];
  entries: TreeEntry[];
}
export interface TreeEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /**
   * symlink target
   */
  target?: string;
}
export interface InstalledPackage {
  name: string;
  version: string;
}
