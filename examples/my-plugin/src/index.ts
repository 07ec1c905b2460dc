import { definePlugin, defineCommand } from 'cx-ops/sdk';

export default definePlugin({
  name: 'my-plugin',
  async activate(ctx) {
    ctx.log.info('Plugin activated!');
  },
  async deactivate(ctx) {
    ctx.log.info('Plugin deactivated!');
  },
  contributes: [
    defineCommand({
      name: 'hello',
      description: 'My custom command: greets someone',
      arguments: [{ name: 'name', description: 'who to greet (default: World)' }],
      async run(ctx, { args }) {
        ctx.io.out(`Hello, ${typeof args.name === 'string' && args.name ? args.name : 'World'}!\n`);
        return 0;
      },
    }),
  ],
});
