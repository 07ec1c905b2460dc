import { definePlugin, defineFix } from 'cx-ops/sdk';

export default definePlugin({
  name: 'template-plugin',
  contributes: [
    defineFix({
      id: 'template_plugin',
      name: 'template-plugin',
      description: 'Describe what this fix changes',
      safe: false,
      async run(ctx, { result }) {
        return { ok: true, message: `nothing to do for ${result.check_id}`, actions: [] };
      },
    }),
  ],
});
