import { describe, expect, test } from 'vitest';
import { formatAge } from '../../../plugins-builtin/registry/index-cache.js';
import { canonicalLocation, indexLocation, resolveReference } from '../../../plugins-builtin/registry/transport.js';

describe('registry locations', () => {
  test('a directory becomes absolute; URLs stay; other schemes are refused', () => {
    expect(canonicalLocation('reg', '/srv')).toBe('/srv/reg');
    expect(canonicalLocation('https://plugins.example.com/cx')).toBe('https://plugins.example.com/cx');
    expect(canonicalLocation('file:///srv/reg/')).toBe('file:///srv/reg/');
    expect(() => canonicalLocation('ftp://example.com/reg')).toThrow(
      "unsupported registry location 'ftp://example.com/reg': use a directory, a file:// URL or an http(s):// URL",
    );
  });

  test('the index is index.yaml inside the location unless the location names a YAML file', () => {
    expect(indexLocation('/srv/reg')).toBe('/srv/reg/index.yaml');
    expect(indexLocation('https://h/cx')).toBe('https://h/cx/index.yaml');
    expect(indexLocation('https://h/cx/')).toBe('https://h/cx/index.yaml');
    expect(indexLocation('https://h/cx/stable.yaml')).toBe('https://h/cx/stable.yaml');
  });

  test('archive references resolve against the index; a remote index cannot name a local file', () => {
    expect(resolveReference('/srv/reg/index.yaml', 'archives/a-1.0.0.tgz')).toBe('/srv/reg/archives/a-1.0.0.tgz');
    expect(resolveReference('https://h/cx/index.yaml', 'archives/a-1.0.0.tgz')).toBe(
      'https://h/cx/archives/a-1.0.0.tgz',
    );
    expect(resolveReference('https://h/cx/index.yaml', 'https://cdn.example/a.tgz')).toBe('https://cdn.example/a.tgz');
    expect(resolveReference('file:///srv/reg/index.yaml', 'archives/a.tgz')).toBe('file:///srv/reg/archives/a.tgz');
    expect(() => resolveReference('https://h/cx/index.yaml', 'file:///etc/shadow')).toThrow(
      /a remote registry may only name http\(s\) archives/,
    );
  });

  test('a local index cannot name a file outside its registry', () => {
    for (const ref of [
      '../../../../etc/passwd',
      '/etc/passwd',
      'archives/../../x.tgz',
      'file:///etc/passwd',
      'https://h/a.tgz',
    ])
      expect(() => resolveReference('/srv/reg/index.yaml', ref)).toThrow(
        `the index at /srv/reg/index.yaml names the archive '${ref}', which is outside the registry (/srv/reg); archives of a local registry are files under its directory`,
      );
    expect(() => resolveReference('file:///srv/reg/index.yaml', '../etc/passwd')).toThrow(/outside the registry/);
    expect(resolveReference('/srv/reg/index.yaml', '/srv/reg/archives/a.tgz')).toBe('/srv/reg/archives/a.tgz');
    expect(resolveReference('/srv/reg/index.yaml', 'archives/..a.tgz')).toBe('/srv/reg/archives/..a.tgz');
  });

  test('ages read naturally', () => {
    expect([5_000, 90_000, 30 * 60_000, 3 * 3600_000, 50 * 3600_000].map(formatAge)).toEqual([
      '5 seconds',
      '90 seconds',
      '30 minutes',
      '3 hours',
      '2 days',
    ]);
  });
});
