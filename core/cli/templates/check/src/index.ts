import { definePlugin, defineCheck, pass, warn } from 'cx-ops/sdk';

export default definePlugin({
  name: 'template-plugin',
  contributes: [
    defineCheck({
      id: 'template_plugin',
      name: 'template-plugin',
      description: 'Warns when the 1-minute load average is above 4',
      category: 'performance',
      severity: 'medium',
      async run(ctx) {
        const text = await ctx.fs.readFile(`${ctx.env.root === '/' ? '' : ctx.env.root}/proc/loadavg`);
        const load = Number(text.split(' ')[0]);
        return load > 4 ? warn(`load is ${load}`, { load }) : pass(`load is ${load}`, { load });
      },
    }),
  ],
});
