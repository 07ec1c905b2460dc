/**
 * checks-declarative: declarative checks without code, as Goss and Serverspec users write them.
 * A YAML file of assertions — file, port, process, package, service, http, command, dns,
 * kernel_param, mount — where each entry becomes a doctor check with the usual result shape.
 * It declares the `check-set` kind (doctor runs the checks of every check set) and contributes
 * the `declarative` set and `cx-ops checks init`.
 */
import { CxError, defineCommand, defineContribution, definePlugin, type Json, type PluginContext } from 'cx-ops/sdk';
import { runCheckSet, type DeclarativeConfig } from './check-set.js';
import { checkSetKind } from './check-set-kind.js';

const names = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

export default definePlugin<DeclarativeConfig>({
  name: 'checks-declarative',
  kinds: [checkSetKind],
  contributes: [
    defineContribution(
      checkSetKind,
      'declarative',
      { name: 'Declarative checks', description: 'checks from YAML files (schemas/declarative-checks.schema.json)' },
      (ctx, input) =>
        // The kernel hands each contribution its own plugin's context, so its config is the plugin's.
        runCheckSet(ctx as PluginContext<DeclarativeConfig>, input),
    ),
    defineCommand({
      name: 'checks init',
      dryRun: true,
      description:
        "Write a declarative checks file from this host's current state (mounts, listening ports, kernel parameters, and each --add NAME)",
      options: [
        { flags: '--output <file>', description: 'where to write it (default: <config_dir>/checks.yaml)' },
        {
          flags: '--add <name...>',
          description:
            'also assert this package (installed, at least its version), process (running) or path (exists, mode)',
        },
        { flags: '--force', description: 'replace an existing file' },
        { flags: '--dry-run', description: 'print the file instead of writing it' },
      ],
      help: 'Then run the checks with: cx-ops doctor --checks-file FILE (or list the file under declarative.files in config.yaml).',
      async run(ctx, input) {
        const o = input.options;
        const file = typeof o.output === 'string' ? o.output : `${ctx.env.configDir}/checks.yaml`;
        // Loaded here: it writes YAML with the yaml library, which no doctor run needs.
        const { checksFileText, describeHost } = await import('./checks-init.js');
        let checks;
        try {
          checks = await describeHost(ctx, names(o.add));
        } catch (e) {
          throw new CxError('CX_ERR_USAGE', {
            plugin: ctx.plugin,
            detail: (e as Error).message,
            hint: `${ctx.env.command} checks init --add openssh-server --add /etc/ssh/sshd_config`,
          });
        }
        const text = checksFileText(checks, new Date());
        if (ctx.env.dryRun) {
          ctx.io.out(text);
          return 0;
        }
        if ((await ctx.localFs.stat(file)) && !o.force) {
          throw new CxError('CX_ERR_USAGE', {
            plugin: ctx.plugin,
            detail: `checks init: ${file} exists; nothing was written.`,
            hint: `${ctx.env.command} checks init --output ${file} --force   (or --dry-run to see it)`,
          });
        }
        await ctx.localFs.mkdir(file.replace(/\/[^/]*$/, '') || '/');
        await ctx.localFs.writeFile(file, text, { mode: 0o644 });
        ctx.io.out(
          `wrote ${checks.length} check(s) to ${file}\nRun them with: ${ctx.env.command} doctor --checks-file ${file}\n`,
        );
        return 0;
      },
    }),
  ],
});
