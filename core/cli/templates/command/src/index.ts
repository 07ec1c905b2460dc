import { definePlugin, defineCommand } from 'cx-ops/sdk';

export default definePlugin({
  name: 'template-plugin',
  contributes: [
    defineCommand({
      name: 'template-plugin',
      description: 'Say hello',
      arguments: [{ name: 'name', description: 'who to greet' }],
      async run(ctx, { args }) {
        ctx.io.out(`Hello, ${args.name ?? 'World'}!\n`);
        return 0;
      },
    }),
  ],
});
