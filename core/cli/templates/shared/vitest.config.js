export default { test: { pool: 'forks', execArgv: ['--no-node-snapshot'], testTimeout: 60000 } };
