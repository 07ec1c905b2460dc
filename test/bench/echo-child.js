// The floor of the sandbox round-trip benchmark: a child that answers each JSON IPC message at
// once (or exits at once with the argument `exit`, for the process start baseline).
if (process.argv[2] === 'exit') process.exit(0);
process.on('message', (m) => process.send(m));
process.on('disconnect', () => process.exit(0));
