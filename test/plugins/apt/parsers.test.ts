// The apt plugin's parsers between the real tools' output and cx-ops' data, on captured output.
import { describe, expect, it } from 'vitest';
import { aptRootOptions, dpkgRootOptions } from '../../../plugins-builtin/apt/apt-tools.js';
import { parseSimulation } from '../../../plugins-builtin/apt/apt-updater.js';

describe('dpkg/apt command lines', () => {
  it('on a real host (root /) they are the plain commands', () => {
    expect(aptRootOptions('/')).toEqual([]);
    expect(dpkgRootOptions('/')).toEqual([]);
  });

  it('for another root every tool is pointed at it', () => {
    expect(dpkgRootOptions('/tmp/r')).toEqual([
      '--root=/tmp/r',
      '--admindir=/tmp/r/var/lib/dpkg',
      '--force-script-chrootless',
    ]);
    expect(aptRootOptions('/tmp/r')).toEqual(
      expect.arrayContaining([
        'Dir=/tmp/r',
        'Dir::State::status=/tmp/r/var/lib/dpkg/status',
        'DPkg::Options::=--root=/tmp/r',
      ]),
    );
  });
});

describe('apt-get -s output', () => {
  it('reads upgrades and new packages; security from the archive label/suite', () => {
    const text = [
      'Inst libc6 [2.36-9+deb12u3] (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64])',
      'Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.7/stable [all])',
      'Inst linux-image-6.1.0-26-amd64 (6.1.112-1 Debian:12.7/stable [amd64])',
      'Conf libc6 (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64])',
    ].join('\n');
    expect(parseSimulation(text)).toEqual([
      {
        name: 'libc6',
        current: '2.36-9+deb12u3',
        candidate: '2.36-9+deb12u4',
        origin: 'Debian-Security:12/stable-security',
        security: true,
      },
      {
        name: 'tzdata',
        current: '2024a-0+deb12u1',
        candidate: '2024b-0+deb12u1',
        origin: 'Debian:12.7/stable',
        security: false,
      },
      {
        name: 'linux-image-6.1.0-26-amd64',
        current: '',
        candidate: '6.1.112-1',
        origin: 'Debian:12.7/stable',
        security: false,
      },
    ]);
  });
});
