import { definePlugin, defineTask } from 'cx-ops/sdk';

/** The task's `config:` in config.yaml (automation.tasks[].config), checked against config_schema. */
interface Config {
  path: string;
}

export default definePlugin({
  name: 'template-plugin',
  contributes: [
    defineTask<Config>({
      // The type config.yaml names:
      //   automation.tasks: [{ id: my-task, type: template_plugin, schedule: daily:03:00, config: { path: /var/tmp } }]
      id: 'template_plugin',
      name: 'template-plugin',
      description: 'Counts the entries of a directory (replace with what your task does)',
      task_type: 'maintenance',
      priority: 'low',
      estimated_duration_seconds: 5,
      config_schema: {
        type: 'object',
        additionalProperties: false,
        required: ['path'],
        properties: { path: { type: 'string', pattern: '^/' } },
      },
      async can_execute(ctx, { config }) {
        return (await ctx.fs.stat(config.path)) ? true : `${config.path} does not exist`;
      },
      async execute(ctx, { config, dry_run }) {
        const entries = await ctx.fs.readDir(config.path);
        const output = `${config.path} holds ${entries.length} entries${dry_run ? ' (dry run)' : ''}`;
        return { status: 'Success', output, changes_made: [] };
      },
    }),
  ],
});
