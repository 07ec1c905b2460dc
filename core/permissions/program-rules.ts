/**
 * What the kernel knows about programs that treat an argument as code, as a program to run, or
 * as a path to write — so that an exec grant cannot promise less than it allows. A grant (or a
 * manifest's request) for such a program is refused when a wildcard (or `...`) stands where the
 * program reads code or a program to run, or where it writes, and `plugins enable` / `grant`
 * say why (CX_ERR_GRANT_UNSAFE). Spelled-out literal arguments are always allowed: what they do
 * is visible in the grant itself.
 *
 * Programs are looked up by file name (`/usr/bin/sed` and `sed` alike; version-suffixed names
 * such as `python3.11` by their stem).
 */
import { posix } from 'node:path';
import { anchorOf } from './path-anchor.js';
import { ELLIPSIS, isGlob, literalPrefix } from './patterns.js';

interface Knowledge {
  /** What the program does with its arguments (shown when a grant is refused). */
  does: string;
  /** It runs or interprets whatever its arguments say: no wildcard anywhere. */
  noWildcards?: boolean;
  /** Options whose value is code, a program, or a path it writes: their value must be literal. */
  codeOptions?: string[];
  /** Other options that take a separate value (so that value is not an operand). */
  valueOptions?: string[];
  /** The first operand is program text, unless one of these options gives the program instead. */
  firstOperandCode?: string[];
  /** Options after which every argument up to `;` or `+` is a command line (find -exec). */
  commandOptions?: string[];
  /** A wildcard operand must be an absolute path pattern anchored in a directory (not `/`). */
  anchoredOperands?: boolean;
  /** The first operand picks a subcommand: it must be literal. */
  literalSubcommand?: boolean;
}

const RUNS_PROGRAMS = 'runs the program its arguments name';
const INTERPRETS = 'interprets its arguments (or the files they name) as code';

const WRAPPERS = [
  'env',
  'xargs',
  'nice',
  'nohup',
  'timeout',
  'setsid',
  'stdbuf',
  'chroot',
  'flock',
  'strace',
  'ltrace',
  'watch',
  'time',
  'ionice',
  'taskset',
  'unshare',
  'nsenter',
  'sudo',
  'su',
  'doas',
  'runuser',
  'busybox',
  'systemd-run',
  'script',
  'chrt',
  'numactl',
  'prlimit',
  'setpriv',
  'capsh',
  'firejail',
  'parallel',
  'ssh',
  'scp',
  'sftp',
  'start-stop-daemon',
  'fakeroot',
  'eatmydata',
  'valgrind',
  'gdb',
  'xvfb-run',
  'cgexec',
  'sg',
  'newgrp',
  'pkexec',
  'unbuffer',
  'entr',
  'run-parts',
  'dbus-run-session',
];
const INTERPRETERS = [
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'fish',
  'csh',
  'tcsh',
  'ash',
  'rbash',
  'perl',
  'python',
  'python2',
  'python3',
  'ruby',
  'node',
  'nodejs',
  'deno',
  'bun',
  'php',
  'lua',
  'luajit',
  'tclsh',
  'wish',
  'expect',
  'Rscript',
  'R',
  'pwsh',
  'dc',
  'ed',
  'ex',
  'vi',
  'vim',
  'nvim',
  'emacs',
  'nano',
  'less',
  'more',
  'man',
  'sqlite3',
  'mysql',
  'psql',
  'gpg',
  'make',
  'gmake',
  'npm',
  'npx',
  'yarn',
  'pnpm',
  'pip',
  'pip3',
  'gem',
  'bundle',
  'rake',
  'cargo',
  'go',
  'mvn',
  'gradle',
  'composer',
  'ansible',
  'ansible-playbook',
  'dpkg',
  'rpm',
  'dnf',
  'yum',
  'systemd-nspawn',
  'docker',
  'podman',
  'kubectl',
  'crontab',
  'at',
];

const TABLE: Record<string, Knowledge> = {
  ...Object.fromEntries(WRAPPERS.map((p) => [p, { does: RUNS_PROGRAMS, noWildcards: true }])),
  ...Object.fromEntries(INTERPRETERS.map((p) => [p, { does: INTERPRETS, noWildcards: true }])),
  sed: {
    does: "reads a script from its first operand or -e/-f (a script can run commands with 'e' and write files with 'w')",
    codeOptions: ['-e', '--expression', '-f', '--file'],
    valueOptions: ['-l', '--line-length'],
    firstOperandCode: ['-e', '--expression', '-f', '--file'],
  },
  awk: {
    does: 'reads a program from its first operand or -f (a program can run commands with system() and write files)',
    codeOptions: ['-f', '--file', '-e', '--source', '-E', '--exec', '-i', '--include', '-l', '--load'],
    valueOptions: ['-v', '--assign', '-F', '--field-separator'],
    firstOperandCode: ['-f', '--file', '-e', '--source', '-E', '--exec'],
  },
  find: {
    does: 'runs the commands after -exec/-execdir/-ok/-okdir and writes the files named after -fprint/-fprintf/-fls',
    codeOptions: ['-fprint', '-fprint0', '-fprintf', '-fls'],
    commandOptions: ['-exec', '-execdir', '-ok', '-okdir'],
  },
  tar: {
    does: 'runs programs named by --to-command, --use-compress-program/-I, --rsh-command, --info-script/-F and --checkpoint-action, and writes the archive and directory it is given',
    codeOptions: [
      '--to-command',
      '--use-compress-program',
      '-I',
      '--rsh-command',
      '--info-script',
      '-F',
      '--new-volume-script',
      '--checkpoint-action',
      '-f',
      '--file',
      '-C',
      '--directory',
      '--index-file',
      '-g',
      '--listed-incremental',
      '-T',
      '--files-from',
    ],
    anchoredOperands: true,
  },
  rsync: {
    does: 'runs the remote shell and rsync program it is given (-e, --rsync-path) and writes its destination',
    codeOptions: [
      '-e',
      '--rsh',
      '--rsync-path',
      '--config',
      '--log-file',
      '--write-batch',
      '--read-batch',
      '--temp-dir',
      '-T',
      '--partial-dir',
      '--backup-dir',
    ],
    anchoredOperands: true,
  },
  git: {
    does: 'picks a subcommand from its first operand, takes configuration from -c (a pager, an alias or a hook runs code) and writes files named by --output',
    codeOptions: [
      '-c',
      '--config-env',
      '--exec-path',
      '-C',
      '--git-dir',
      '--work-tree',
      '--namespace',
      '--output',
      '-o',
      '--upload-pack',
      '--receive-pack',
      '--exec',
      '-u',
      '--ext-diff',
      '--textconv',
      '-O',
      '--open-files-in-pager',
      '--template',
      '--separate-git-dir',
    ],
    literalSubcommand: true,
  },
  sort: {
    does: 'runs the program named by --compress-program and writes the file named by -o/--output',
    codeOptions: ['--compress-program', '-o', '--output', '-T', '--temporary-directory'],
  },
  curl: {
    does: 'writes the files named by -o/--output/-D/--dump-header/-c, uploads those named by -T, and reads options from -K/--config',
    codeOptions: [
      '-o',
      '--output',
      '-O',
      '--remote-name',
      '-D',
      '--dump-header',
      '-c',
      '--cookie-jar',
      '-K',
      '--config',
      '-T',
      '--upload-file',
      '--trace',
      '--trace-ascii',
      '--stderr',
      '--output-dir',
      '-F',
      '--form',
      '-d',
      '--data',
      '--data-binary',
      '--libcurl',
    ],
  },
  wget: {
    does: 'runs wgetrc commands from -e/--execute and writes the files named by -O/-o/-P',
    codeOptions: [
      '-e',
      '--execute',
      '-O',
      '--output-document',
      '-o',
      '--output-file',
      '-a',
      '--append-output',
      '-P',
      '--directory-prefix',
      '-i',
      '--input-file',
      '--config',
      '--post-file',
      '--body-file',
    ],
  },
  openssl: {
    does: 'loads engines and providers it is told to, and writes the files named by -out/-keyout',
    codeOptions: ['-engine', '-provider', '-provider-path', '-out', '-keyout', '-config'],
  },
  zip: {
    does: 'runs the program named by -TT/--unzip-command and writes its archive',
    codeOptions: ['-TT', '--unzip-command'],
    anchoredOperands: true,
  },
  apt: {
    does: 'takes configuration from -o/-c (APT hooks run commands)',
    codeOptions: ['-o', '--option', '-c', '--config-file'],
  },
  'apt-get': {
    does: 'takes configuration from -o/-c (APT hooks run commands)',
    codeOptions: ['-o', '--option', '-c', '--config-file'],
  },
  dd: { does: 'writes the file named by of=', codeOptions: [], anchoredOperands: true },
  tee: { does: 'writes the files it names', anchoredOperands: true },
  cp: { does: 'writes its destination', anchoredOperands: true },
  mv: { does: 'writes its destination', anchoredOperands: true },
  ln: { does: 'writes its destination', anchoredOperands: true },
  install: { does: 'writes its destination', anchoredOperands: true },
};
TABLE.gawk = TABLE.mawk = TABLE.nawk = TABLE.awk!;

/** What the kernel knows about a program (by file name), or undefined. */
function knowledgeOf(command: string): Knowledge | undefined {
  const base = posix.basename(command);
  return Object.hasOwn(TABLE, base)
    ? TABLE[base]
    : Object.hasOwn(TABLE, base.replace(/[\d.]+$/, ''))
      ? TABLE[base.replace(/[\d.]+$/, '')]
      : undefined;
}

const wild = (p: string): boolean => p === ELLIPSIS || isGlob(p);
/** Whether a pattern is a path pattern anchored in a directory other than `/`. */
const anchored = (p: string): boolean => (anchorOf(p)?.dir ?? '/') !== '/';

/** The option name of a literal option pattern (`--output=x` -> `--output`). */
const optionName = (p: string): string => (p.startsWith('--') ? p.split('=')[0]! : p);

/** Whether a short-option cluster (`-ne`) ends in one of `names` (so the next argument is its value). */
function clusterEndsIn(p: string, names: string[]): boolean {
  if (!/^-[A-Za-z0-9]{2,}$/.test(p)) return false;
  return names.includes(`-${p[p.length - 1]}`);
}

/** Whether a short-option cluster holds one of `names` anywhere (its value may be attached: `-fX`). */
function clusterHolds(p: string, names: string[]): boolean {
  return /^-[A-Za-z0-9]+$/.test(p) && [...p.slice(1)].some((c) => names.includes(`-${c}`));
}

/**
 * Why an exec rule allows more than it says for this program, or null. `args` null means `...`.
 */
export function unsafeExecArgs(command: string, args: string[] | null): string | null {
  const k = knowledgeOf(command);
  if (!k) return null;
  const name = posix.basename(command);
  const pats = args ?? [ELLIPSIS];
  if (k.noWildcards) {
    const bad = pats.find(wild);
    return bad === undefined
      ? null
      : `${name} ${k.does}, so its arguments must be spelled out: '${bad}' could stand for anything`;
  }
  const code = k.codeOptions ?? [];
  const takesValue = [...code, ...(k.valueOptions ?? [])];
  let operands = 0;
  let programGiven = false;
  for (let i = 0; i < pats.length; i++) {
    const p = pats[i]!;
    if (p === ELLIPSIS) {
      if (k.firstOperandCode && !programGiven && operands === 0)
        return `${name} ${k.does}: '...' could supply the program text; spell it out`;
      if (k.literalSubcommand && operands === 0)
        return `${name} ${k.does}: '...' could pick any subcommand; spell it out`;
      continue;
    }
    if (p.startsWith('-')) {
      if (isGlob(p)) {
        const lit = literalPrefix(p);
        const attached = /^--[A-Za-z0-9][A-Za-z0-9-]*=/.exec(lit);
        if (!attached)
          return `${name} ${k.does}: the option pattern '${p}' could stand for any option; spell the option out (e.g. --name=VALUE-PATTERN)`;
        const opt = attached[0].slice(0, -1);
        if (code.includes(opt) && !anchored(p))
          return `${name} ${k.does}: the value of ${opt} must be spelled out, or be a path pattern anchored in a directory (${opt}=/dir/*)`;
        continue;
      }
      const opt = optionName(p);
      if (k.commandOptions?.includes(opt)) {
        for (i++; i < pats.length && pats[i] !== ';' && pats[i] !== '+'; i++) {
          if (wild(pats[i]!))
            return `${name} ${k.does}: '${pats[i]}' after ${opt} could run any command; spell the command out`;
        }
        continue;
      }
      const separateValue = !p.includes('=') && (takesValue.includes(opt) || clusterEndsIn(p, takesValue));
      const isCode = code.includes(opt) || clusterEndsIn(p, code) || (p.startsWith('--') && code.includes(opt));
      if (k.firstOperandCode?.includes(opt) || clusterHolds(p, k.firstOperandCode ?? [])) programGiven = true;
      if (separateValue) {
        const v = pats[i + 1];
        if (v !== undefined && isCode && wild(v) && !(v !== ELLIPSIS && anchored(v))) {
          return `${name} ${k.does}: the value '${v}' of ${opt} must be spelled out, or be a path pattern anchored in a directory (/dir/*)`;
        }
        i++;
      }
      continue;
    }
    // An operand.
    const first = operands === 0;
    operands++;
    if (!wild(p)) continue;
    if (first && k.literalSubcommand) return `${name} ${k.does}: its subcommand '${p}' must be spelled out`;
    if (first && k.firstOperandCode && !programGiven)
      return `${name} ${k.does}: its program text '${p}' must be spelled out`;
    if (k.anchoredOperands && !anchored(p))
      return `${name} ${k.does}: the operand pattern '${p}' must be an absolute path anchored in a directory (/dir/*)`;
  }
  return null;
}
