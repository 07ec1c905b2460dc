/**
 * The error catalogue of the kernel and the one way plugins add theirs. `cx-ops/sdk` exports
 * CxError and defineErrors, so a plugin raises coded errors exactly like the kernel. Every code
 * is stable and never reused for another meaning; every message says what is wrong, where, and
 * the exact next step. docs/errors.md is generated from every catalogue (the kernel's and the
 * built-in plugins') by `node core/bin/gen-error-docs.js`, and a test keeps the two in sync.
 *
 * An error carries its fix as data: `hint` (the command to try), `suggestions` ("did you
 * mean"), `docs`. Its message is rendered once, here (renderMessage), and printed by the CLI's
 * one printer (text, or a JSON object under --json).
 *
 * Exit codes: 2 bad input (usage, files, manifests), 3 permission denied, 4 plugin failure,
 * 5 system state (locks, missing tools), 1 anything else.
 */

/**
 * An error's parameters: whatever its message reads (file, line, plugin, ...). Each code's
 * message function types its own; the catalogue as a whole cannot, hence the one `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorParams = Record<string, any>;

/** The largest value an error keeps as `found` (its message shows it). */
const MAX_FOUND_CHARS = 2000;

/** `v` itself when it can be shown in a message, else a short description of it (never a stack overflow). */
export function showable(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_FOUND_CHARS ? `${v.slice(0, 80)}… (${v.length} characters)` : v;
  if (v === null || typeof v !== 'object') return v;
  try {
    if (JSON.stringify(v).length <= MAX_FOUND_CHARS) return v;
  } catch {
    /* nested too deeply for JSON.stringify */
  }
  return `(${Array.isArray(v) ? 'a list' : 'a mapping'} too large or too deeply nested to show)`;
}

/** One code of a catalogue. */
export interface ErrorSpec<P = ErrorParams> {
  /** Process exit code when this error ends a command. */
  exit: number;
  /** What it means, for the docs table. */
  summary: string;
  /** Builds the message (what is wrong, where) from the error's parameters. */
  message(p: P): string;
}

/** The form every error code takes: upper snake case, e.g. CX_ERR_USAGE or ACME_ERR_QUOTA. */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

const list = (xs: unknown): string => (Array.isArray(xs) && xs.length ? xs.map(String).join(', ') : '(none)');

export const ERRORS = {
  CX_ERR_USAGE: {
    exit: 2,
    summary: 'The command line is wrong.',
    message: (p) => String(p.detail),
  },
  CX_ERR_YAML_SYNTAX: {
    exit: 2,
    summary: 'A YAML file does not parse.',
    message: (p) =>
      `${p.file}:${p.line}:${p.column}: ${p.detail}\nFix the YAML syntax at that position and run the command again.`,
  },
  CX_ERR_MANIFEST_INVALID: {
    exit: 2,
    summary: 'A plugin.yaml does not match the manifest schema.',
    message: (p) =>
      `${p.file}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nSee schemas/plugin.schema.json for the manifest format.`,
  },
  CX_ERR_MANIFEST_MISSING: {
    exit: 2,
    summary: 'A plugin directory has no plugin.yaml.',
    message: (p) =>
      `${p.dir}: no plugin.yaml found.\nEvery plugin directory needs a plugin.yaml; create one with: cx-ops plugins create <name>`,
  },
  CX_ERR_MAIN_MISSING: {
    exit: 2,
    summary: "A plugin's main file does not exist.",
    message: (p) =>
      `plugin '${p.plugin}': main file '${p.main}' does not exist (looked at ${p.path}).\nBuild the plugin (npm run build in its directory) or fix 'main' in ${p.manifest}.`,
  },
  CX_ERR_MAIN_INVALID: {
    exit: 4,
    summary: "A plugin's main file does not export a plugin definition.",
    message: (p) =>
      `plugin '${p.plugin}': ${p.main} ${p.detail}\nIts default export must be definePlugin({ name: '${p.plugin}', ... }) from 'cx-ops/sdk'.`,
  },
  CX_ERR_CX_VERSION: {
    exit: 2,
    summary: "The kernel version does not satisfy a plugin's cx_version range.",
    message: (p) =>
      `plugin '${p.plugin}' needs cx-ops ${p.range}, but this is cx-ops ${p.version}.\nUpgrade cx-ops, or install a version of '${p.plugin}' made for ${p.version}.`,
  },
  CX_ERR_REQUIRES_MISSING: {
    exit: 2,
    summary: 'A plugin requires another plugin that is not installed or not enabled.',
    message: (p) =>
      `plugin '${p.plugin}' requires '${p.requirement}' ${p.range}, ${p.found ? `but ${p.found} is installed` : 'which is not installed or not enabled'}.\nInstall or enable '${p.requirement}' (cx-ops plugins enable ${p.requirement}), or disable '${p.plugin}'.`,
  },
  CX_ERR_REQUIRES_CYCLE: {
    exit: 2,
    summary: "Plugins' requires form a cycle.",
    message: (p) =>
      `plugins require each other in a cycle: ${p.chain.join(' -> ')}.\nRemove one of these requires entries.`,
  },
  CX_ERR_PLUGIN_DUPLICATE: {
    exit: 2,
    summary: 'Two plugin directories declare the same plugin name.',
    message: (p) =>
      `plugin '${p.plugin}' is found twice: ${p.first} and ${p.second}; the first one is used.\nRemove or rename one of them.`,
  },
  CX_ERR_PLUGIN_UNKNOWN: {
    exit: 2,
    summary: 'No plugin has the given name.',
    message: (p) => `no plugin named '${p.plugin}'.\nList plugins with: cx-ops plugins list --available`,
  },
  CX_ERR_PLUGIN_NAME_MISMATCH: {
    exit: 4,
    summary: "definePlugin's name differs from plugin.yaml's name.",
    message: (p) =>
      `plugin '${p.plugin}': its code declares the name '${p.declared}'.\nMake definePlugin({ name }) and plugin.yaml's name the same.`,
  },
  CX_ERR_PLUGIN_BUILD: {
    exit: 2,
    summary: "A plugin's source does not bundle into one module.",
    message: (p) =>
      `${p.entry}: the plugin does not build:\n${p.detail}\nFix the source, then build again (cx-ops plugins build DIR).`,
  },
  CX_ERR_PLUGIN_CHANGED: {
    exit: 3,
    summary: 'A plugin enabled trusted has changed files since; it is not run in-process.',
    message: (p) =>
      `plugin '${p.plugin}' was enabled trusted, but its files in ${p.dir} changed since; it was not loaded, so changed code never runs with the host's rights.\nReinstall it from its registry (cx-ops plugins install ${p.plugin} --trusted), or run it sandboxed: cx-ops plugins enable ${p.plugin}`,
  },
  CX_ERR_ACTIVATE_FAILED: {
    exit: 4,
    summary: "A plugin's activate() threw.",
    message: (p) =>
      `plugin '${p.plugin}' failed to activate: ${p.detail}\nThe plugin was skipped; the others loaded. Disable it with: cx-ops plugins disable ${p.plugin}`,
  },
  CX_ERR_DECLARATION_DUPLICATE: {
    exit: 4,
    summary: 'A plugin declares a hook, kind or error code that another plugin or the kernel already declares.',
    message: (p) =>
      `plugin '${p.plugin}' declares ${p.what} '${p.name}', which ${p.owner ? `plugin '${p.owner}'` : 'the kernel'} already declares; this declaration was ignored.\nRename it in plugin '${p.plugin}' (a name means one thing).`,
  },
  CX_ERR_HOOK_NOT_OWNER: {
    exit: 4,
    summary: 'A plugin fired a hook that another plugin (or the kernel) owns.',
    message: (p) =>
      `plugin '${p.plugin}' may not fire hook '${p.name}': only ${p.owner ? `plugin '${p.owner}'` : 'the kernel'}, which declares it, fires it.\nTap it instead (defineTap), or declare a hook of your own with defineHook.`,
  },
  CX_ERR_META_INVALID: {
    exit: 4,
    summary: "A contribution's id or meta does not match what its kind requires.",
    message: (p) =>
      `plugin '${p.plugin}': ${p.kind} '${p.id}' ${p.detail}; it was not registered.\n${p.fix ?? `Fix the contribution in plugin '${p.plugin}'.`}`,
  },
  CX_ERR_PLUGIN_THREW: {
    exit: 4,
    summary: 'Plugin code threw during a hook or contribution call.',
    message: (p) => `plugin '${p.plugin}' failed in ${p.where}: ${p.detail}`,
  },
  CX_ERR_TAP_TIMEOUT: {
    exit: 4,
    summary: 'A hook tap did not finish in time.',
    message: (p) =>
      `plugin '${p.plugin}' did not finish its '${p.hook}' tap within ${p.ms} ms; it was skipped and the run went on.`,
  },
  CX_ERR_CALL_TIMEOUT: {
    exit: 4,
    summary: 'A contribution did not finish within the time its caller allowed.',
    message: (p) => `plugin '${p.plugin}': ${p.where} did not finish within ${p.ms} ms.`,
  },
  CX_ERR_CONTRIBUTION_DUPLICATE: {
    exit: 2,
    summary: 'Two plugins contribute the same id of the same kind.',
    message: (p) =>
      `${p.kind} '${p.id}' is contributed by both '${p.first}' and '${p.second}'; the one from '${p.second}' was not registered.\n${p.fix ?? 'Disable one of the two plugins.'}`,
  },
  CX_ERR_CONTRIBUTION_UNKNOWN: {
    exit: 2,
    summary: 'No plugin contributes the asked-for id.',
    message: (p) => `no ${p.kind} '${p.id}' is registered.`,
  },
  CX_ERR_KIND_UNKNOWN: {
    exit: 4,
    summary: 'A plugin contributes to a kind nobody declared.',
    message: (p) =>
      `plugin '${p.plugin}' contributes to kind '${p.kind}', which no loaded plugin declares (known kinds: ${list(p.known)}).\nEnable the plugin that declares '${p.kind}', or add it to this plugin's requires.`,
  },
  CX_ERR_HOOK_UNKNOWN: {
    exit: 4,
    summary: 'A plugin taps a hook that does not exist.',
    message: (p) => `plugin '${p.plugin}' taps hook '${p.hook}', which does not exist (known hooks: ${list(p.known)}).`,
  },
  CX_ERR_CONFIG_INVALID: {
    exit: 2,
    summary: "A config.yaml section fails its plugin's schema.",
    message: (p) => {
      // `problems` lists every schema error of the section; without it, the one in p itself.
      const problems: Array<ErrorParams> = Array.isArray(p.problems) && p.problems.length ? p.problems : [p];
      const lines = problems.map(
        (q) =>
          `${p.file}${q.line ? `:${q.line}` : ''}: '${q.field}' ${q.detail}${q.found !== undefined ? ` (found: ${JSON.stringify(q.found)})` : ''}`,
      );
      const schema =
        p.plugin === 'kernel'
          ? "its top level is a mapping of sections: 'plugins' and 'audit' (schemas/config.schema.json) and one per plugin, named by its config_key"
          : `the schema is in plugin '${p.plugin}''s plugin.yaml (config_schema)`;
      return `${lines.join('\n')}\nFix ${p.field === '(root)' ? p.file : `${problems.length > 1 ? 'these values' : 'that value'} in ${p.file}`}; ${schema}.`;
    },
  },
  CX_ERR_PLUGIN_DISABLED: {
    exit: 2,
    summary: 'A command comes from a plugin that is disabled.',
    message: (p) =>
      `'${p.command}' is not available: plugin '${p.plugin}' is disabled.\n${p.fix ?? `Enable it with: cx-ops plugins enable ${p.plugin}`}`,
  },
  CX_ERR_PERMISSION_DENIED: {
    exit: 3,
    summary: 'A plugin called a capability it was not granted.',
    message: (p) =>
      `plugin '${p.plugin}' may not ${p.action}: ${p.granted ? `its grant allows ${p.granted}` : `it has no ${p.capability} grant`}.\n${p.unrequested ? `Its manifest does not request it, so it cannot be granted as it is: add ${p.unrequested} under permissions in ${p.manifest ?? 'its plugin.yaml'}, rebuild the plugin, then enable it again (cx-ops plugins enable ${p.plugin}).` : p.readOnly ? `It is enabled read-only, which allows no exec, write or net grant; to allow it, enable it again without --read-only: ${p.fix}` : p.fix ? `Grant it with: ${p.fix}` : 'This cannot be granted.'}`,
  },
  CX_ERR_GRANT_WIDER: {
    exit: 2,
    summary: 'A grant asks for more than the plugin manifest requests.',
    message: (p) =>
      `grant '${p.grant}' for plugin '${p.plugin}' is not within what its manifest requests (${list(p.requested)}).\nA grant can narrow a plugin's request, never widen it.`,
  },
  CX_ERR_GRANT_SYNTAX: {
    exit: 2,
    summary: 'A grant string does not parse.',
    message: (p) =>
      `grant '${p.grant}' is not valid: ${p.detail}\nGrants look like exec:'systemctl is-active *', read:/proc, write:/var/lib/x, net:127.0.0.1:8080.`,
  },
  CX_ERR_GRANT_UNSAFE: {
    exit: 2,
    summary: 'A grant would let the plugin run code of its choosing through a granted program.',
    message: (p) =>
      `grant '${p.grant}'${p.plugin ? ` for plugin '${p.plugin}'` : ''} is refused: ${p.detail}.${p.fix ? `\n${p.fix}` : ''}`,
  },
  CX_ERR_SANDBOX_TIMEOUT: {
    exit: 4,
    summary: 'A sandboxed call went over its time limit.',
    message: (p) =>
      `plugin '${p.plugin}': ${p.where} went over its time limit of ${p.ms} ms and was stopped.\nRaise limits.call_timeout_ms in its plugin.yaml if the work really takes that long.`,
  },
  CX_ERR_SANDBOX_MEMORY: {
    exit: 4,
    summary: 'A sandboxed call went over its memory limit.',
    message: (p) => `plugin '${p.plugin}': ${p.where} went over its memory limit of ${p.mb} MB and was stopped.`,
  },
  CX_ERR_SANDBOX_CRASHED: {
    exit: 4,
    summary: 'The sandbox process died; it was restarted.',
    message: (p) =>
      `plugin '${p.plugin}': the sandbox stopped unexpectedly during ${p.where} (${p.detail}); it was restarted.`,
  },
  CX_ERR_SANDBOX_LIMIT: {
    exit: 4,
    summary: 'A value crossing the sandbox boundary is too large, too deep, or not plain data.',
    message: (p) => `plugin '${p.plugin}': ${p.detail}`,
  },
  CX_ERR_TOO_MANY_CALLS: {
    exit: 4,
    summary: 'A plugin has too many capability calls in flight.',
    message: (p) =>
      `plugin '${p.plugin}' has more than ${p.max} capability calls waiting; the call to ${p.action} was refused.`,
  },
  CX_ERR_WRITE_QUOTA: {
    exit: 4,
    summary: 'A sandboxed plugin went over its write quota (bytes or files it may add to disk in one run).',
    message: (p) =>
      `plugin '${p.plugin}' may add at most ${p.what === 'bytes' ? `${p.limit} bytes` : `${p.limit} files and directories`} to disk in one run (${p.used} so far); ${p.action} would add ${p.asked} more and was refused: nothing was written.\nIf it really needs more, raise plugins.sandbox.${p.setting} in config.yaml.`,
  },
  CX_ERR_STATE_LOCKED: {
    exit: 5,
    summary: 'Another cx-ops run holds the lock.',
    message: (p) =>
      `${p.what} is locked by another cx-ops run (pid ${p.pid}${p.command ? `, ${p.command}` : ''}).\nWait for it to finish, then run the command again.`,
  },
  CX_ERR_DOWNLOAD_CHECKSUM: {
    summary: 'Downloaded bytes differ from the sha256 they were expected to have.',
    exit: 2,
    message: (p) =>
      `${p.url}: the download has sha256 ${p.actual}, expected ${p.expected}. Nothing was kept.\nThe file changed at its source or on the way: check where the expected sum comes from before trying again.`,
  },
  CX_ERR_INTERNAL: {
    exit: 1,
    summary: 'cx-ops failed in a way it has no code for (a bug: please report it with the --verbose output).',
    message: (p) => String(p.detail),
  },
  CX_ERR_IO: {
    exit: 2,
    summary: 'A file could not be read or written.',
    message: (p) => `${p.path}: ${p.detail}`,
  },
  CX_ERR_STATE_INVALID: {
    exit: 2,
    summary:
      'A state, journal or manifest file that cx-ops wrote is damaged: not JSON, or not the shape its schema says.',
    message: (p) =>
      `${p.file}: ${p.detail}. It is not a valid ${p.what} (${p.schema}).\nMove it aside (mv ${p.file} ${p.file}.damaged)${p.consequence ? `; ${p.consequence}` : ''}, then run the command again.`,
  },

  // Raised by plugins-builtin/checks-declarative.
  CX_ERR_CHECKS_FILE_INVALID: {
    exit: 2,
    summary: 'A declarative checks file does not match its format.',
    message: (p) =>
      `${p.file}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nFix it in ${p.file}; the format is schemas/declarative-checks.schema.json.`,
  },

  // Raised by plugins-builtin/deploy.
  CX_ERR_DEPLOY_MANIFEST_INVALID: {
    exit: 2,
    summary:
      'A deploy service manifest does not parse, does not match its schema, or fails validation (every problem is listed).',
    message: (p) =>
      `${p.file}: ${p.problems.length} problem${p.problems.length === 1 ? '' : 's'}:\n${p.text}Fix ${p.problems.length === 1 ? 'it' : 'them'} in ${p.file} and run: cx-ops deploy validate ${p.file}\nThe format is schemas/deploy-manifest.schema.json.`,
  },
  CX_ERR_DEPLOY_DRIVER_UNAVAILABLE: {
    exit: 5,
    summary: "A service's deploy driver cannot work on this host; nothing was started.",
    message: (p) =>
      `${p.services.join(', ')} ${p.services.length === 1 ? 'uses' : 'use'} driver '${p.driver}', which is not available here: ${p.reason}.\nNothing was started. Use another driver for ${p.services.length === 1 ? 'it' : 'them'} in ${p.file}, or run on a host where ${p.driver} runs.`,
  },
  // Raised by plugins-builtin/hotfix.
  CX_ERR_HOTFIX_INVALID: {
    exit: 2,
    summary:
      'A hotfix module (index.json/index.yaml) does not match its format, or its operations cannot be ordered or run.',
    message: (p) => {
      const problems: Array<ErrorParams> = Array.isArray(p.problems) && p.problems.length ? p.problems : [p];
      const lines = problems.map(
        (q) =>
          `${p.file}${q.line ? `:${q.line}` : ''}: ${q.operation ? `operation '${q.operation}' ` : ''}field '${q.field}' ${q.detail}${q.found !== undefined ? ` (found: ${JSON.stringify(q.found)})` : ''}`,
      );
      return `${lines.join('\n')}\nFix ${problems.length > 1 ? 'these' : 'it'} in ${p.file} (format: schemas/hotfix-index.schema.json); nothing was changed.`;
    },
  },
  CX_ERR_HOTFIX_MARKER: {
    exit: 2,
    summary: "A hotfix append operation's marker block is missing, doubled, orphaned or unsafe in its target file.",
    message: (p) =>
      `${p.file}${p.line ? `:${p.line}` : ''}: operation '${p.operation}': ${p.detail}; nothing was changed.\n${p.fix}`,
  },
  CX_ERR_HOTFIX_CHECK_FAILED: {
    exit: 1,
    summary: "A hotfix module's pre_check or post_check printed something other than expected.",
    message: (p) =>
      `${p.phase} check '${p.description ?? p.command}' failed: ${p.command}${p.shell ? ' (through sh -c: it uses shell syntax)' : ''}\n  expected: ${JSON.stringify(p.expected)}\n  actual:   ${JSON.stringify(p.actual)}${p.exit_code !== undefined && p.exit_code !== 0 ? ` (exit ${p.exit_code}${p.stderr ? `: ${p.stderr}` : ''})` : ''}\n${p.next}`,
  },
  CX_ERR_HOTFIX_PENDING: {
    exit: 5,
    summary: 'An interrupted hotfix run is neither rolled back nor resumed.',
    message: (p) =>
      `hotfix run ${p.run} (${p.module}) was interrupted${p.detail ? ` (${p.detail})` : ''}; nothing new is applied until it is finished.\nRoll it back: cx-ops hotfix rollback --run ${p.run}   or continue it: cx-ops hotfix apply ${p.module} --resume`,
  },
  CX_ERR_HOTFIX_NOT_NEWER: {
    exit: 2,
    summary: "A hotfix module's schema_version is not newer than the one applied last from it.",
    message: (p) =>
      `${p.file}: schema_version ${p.version} is not newer than ${p.applied}, applied from this module by run ${p.run}; nothing was changed.\nRaise metadata.schema_version, or re-apply it with: cx-ops hotfix apply ${p.dir} --force`,
  },
  // Raised by plugins-builtin/daemon.
  CX_ERR_PORT_IN_USE: {
    exit: 5,
    summary: 'The address the daemon should listen on is already taken by another process.',
    message: (p) =>
      `cannot listen on ${p.address}: it is already in use${p.holder ? ` by ${p.holder}` : ' (by a process this user cannot see)'}.\nStop that process, or set another port in daemon.listen in ${p.file}.`,
  },
} satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** What every error says about itself, as plain data (--json output, audit records, the sandbox boundary). */
export interface ErrorData {
  code: string;
  message: string;
  exit: number;
  plugin?: string;
  hook?: string;
  contribution?: string;
  hint?: string;
  suggestions?: string[];
  docs?: string;
}

/** The page that explains a code. */
export const docsFor = (code: string): string => `docs/errors.md#${code.toLowerCase()}`;

/**
 * The one rendering of an error's text: the catalogue message, " Did you mean: …?" after its
 * first line, and "Try: <hint>" as its last line.
 */
export function renderMessage(what: string, suggestions?: readonly string[], hint?: string): string {
  const [first = '', ...rest] = what.split('\n');
  const did = suggestions?.length ? ` Did you mean: ${suggestions.join(', ')}?` : '';
  return [first + did, ...rest].join('\n') + (hint ? `\nTry: ${hint}` : '');
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length ? v.map(String) : undefined);

/** A coded error, attributed to a plugin and hook/contribution where it applies. */
export class CxError extends Error {
  readonly code: ErrorCode | (string & {});
  readonly params: ErrorParams;
  readonly exitCode: number;
  /** The command to try next. */
  readonly hint?: string;
  /** Near names for a name that was not found. */
  readonly suggestions?: string[];
  /** Where the code is explained. */
  readonly docs: string;
  /** The plugin whose code raised it (stamped by the kernel when the plugin did not say). */
  plugin?: string;
  hook?: string;
  contribution?: string;

  constructor(code: ErrorCode, params?: ErrorParams, options?: { cause?: unknown });
  constructor(code: string, params: ErrorParams, options: { cause?: unknown; spec: ErrorSpec });
  constructor(code: string, given: ErrorParams = {}, options: { cause?: unknown; spec?: ErrorSpec } = {}) {
    const spec = options.spec ?? (ERRORS as Record<string, ErrorSpec>)[code];
    // What was found in a hostile file may be huge or nested thousands deep: it is shown bounded.
    const params = 'found' in given ? { ...given, found: showable(given.found) } : given;
    if (!spec)
      throw new TypeError(`'${code}' is not a code of the kernel's error catalogue; declare it with defineErrors`);
    const suggestions = strings(params.suggestions);
    const hint = typeof params.hint === 'string' && params.hint ? params.hint : undefined;
    super(
      renderMessage(spec.message(params), suggestions, hint),
      options.cause !== undefined ? { cause: options.cause } : undefined,
    );
    this.name = 'CxError';
    this.code = code;
    this.params = params;
    this.exitCode = spec.exit;
    this.hint = hint;
    this.suggestions = suggestions;
    this.docs = docsFor(code);
    this.plugin = params.plugin;
    this.hook = params.hook;
    this.contribution = params.contribution;
  }

  /** An error whose text was already rendered elsewhere (it crossed the sandbox boundary, or is a kernel error relayed). */
  static fromData(d: ErrorData, params: ErrorParams = {}): CxError {
    const spec: ErrorSpec = { exit: d.exit, summary: '', message: () => d.message };
    const e = new CxError(d.code, { ...params, detail: d.message, hint: undefined, suggestions: undefined }, { spec });
    Object.assign(e, {
      hint: d.hint,
      suggestions: d.suggestions,
      plugin: d.plugin ?? params.plugin,
      hook: d.hook ?? params.hook,
      contribution: d.contribution ?? params.contribution,
    });
    return e;
  }

  /**
   * An error of a kernel code whose message was already written (e.g. a permission denial that
   * crossed the sandbox boundary inside the plugin and came back out of it).
   */
  static withMessage(code: ErrorCode, message: string, params: ErrorParams = {}): CxError {
    return CxError.fromData({ code, message, exit: ERRORS[code].exit }, params);
  }

  /** Fills in who raised it, where the error does not say yet; returns the error. */
  attribute(where: { plugin: string; hook?: string; contribution?: string }): this {
    this.plugin ??= where.plugin;
    if (!this.hook && !this.contribution) {
      this.hook = where.hook;
      this.contribution = where.contribution;
    }
    return this;
  }

  /** Plain data for --json output and audit records. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.plugin ? { plugin: this.plugin } : {}),
      ...(this.hook ? { hook: this.hook } : {}),
      ...(this.contribution ? { contribution: this.contribution } : {}),
    };
  }

  /** Everything the error says, for the --json error object. */
  toData(): ErrorData {
    return {
      code: this.code,
      message: this.message,
      exit: this.exitCode,
      ...(this.plugin ? { plugin: this.plugin } : {}),
      ...(this.hook ? { hook: this.hook } : {}),
      ...(this.contribution ? { contribution: this.contribution } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.suggestions ? { suggestions: this.suggestions } : {}),
      docs: this.docs,
    };
  }
}

/** An error as one line of text and its continuation: `error[CODE]: message` (the CLI prints every error so). */
export function errorText(e: CxError): string {
  return `error[${e.code}]: ${e.message}`;
}

/** Symbol under which a defineErrors catalogue keeps its specs (Symbol.for: the sandbox reads it too). */
export const ERROR_SPECS: unique symbol = Symbol.for('cx-ops.error-specs') as never;

/** The fix any error may carry besides its own parameters: the command to try, near names. */
export interface ErrorFix {
  hint?: string;
  suggestions?: string[];
}

/** What definePlugin's `errors` takes: any catalogue made by defineErrors. */
export interface ErrorSpecs {
  readonly [ERROR_SPECS]: Record<string, ErrorSpec>;
}

/** A plugin's own error codes: one factory per code, typed by its message's parameters. */
export type ErrorCatalogue<S extends Record<string, ErrorSpec>> = {
  readonly [K in keyof S]: (
    params: Parameters<S[K]['message']>[0] & ErrorFix,
    options?: { cause?: unknown },
  ) => CxError;
} & { readonly [ERROR_SPECS]: S };

/**
 * Declares a plugin's own error codes (each with its exit code, summary and message function).
 * Raise one with `throw errors.ACME_ERR_QUOTA({ ... })`; give the catalogue to definePlugin's
 * `errors` so the kernel knows its exit codes (also across the sandbox boundary) and the docs list it.
 */
export function defineErrors<S extends Record<string, ErrorSpec>>(specs: S): ErrorCatalogue<S> {
  const out: Record<string | symbol, unknown> = { [ERROR_SPECS]: specs };
  for (const [code, spec] of Object.entries(specs)) {
    if (!ERROR_CODE_PATTERN.test(code))
      throw new TypeError(`error code '${code}' is not upper snake case (e.g. ACME_ERR_QUOTA)`);
    if (Object.hasOwn(ERRORS, code))
      throw new TypeError(`error code '${code}' is the kernel's; choose a code of your own`);
    out[code] = (params: ErrorParams, options: { cause?: unknown } = {}) =>
      new CxError(code, params ?? {}, { ...options, spec });
  }
  return Object.freeze(out) as ErrorCatalogue<S>;
}

/** The specs of a catalogue made by defineErrors ({} for anything else). */
export function errorSpecsOf(catalogue: unknown): Record<string, ErrorSpec> {
  const specs =
    catalogue && typeof catalogue === 'object' ? (catalogue as Record<symbol, unknown>)[ERROR_SPECS] : undefined;
  return specs && typeof specs === 'object' ? (specs as Record<string, ErrorSpec>) : {};
}

/** Whether `code` is a code of the kernel's catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

export function isCxError(e: unknown): e is CxError {
  return e instanceof CxError;
}

/** Message of any thrown value, without a stack. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/** "Did you mean" suggestions: the SDK's rule, shared by the kernel's own unknown-name errors. */
export { closest } from './closest.js';
