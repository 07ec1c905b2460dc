/**
 * cx-ops/sdk/testing: the plugin author's test harness. It drives the real kernel, so it sits
 * beside sdk/ rather than in it: harness/ imports core/ and sdk/, core/ imports sdk/, and
 * nothing imports harness/.
 */
export { startPlugin, type CommandRun, type StartedPlugin, type StartOptions } from './start-plugin.js';
export type { CapabilityFakes, ExecFake } from './capability-fakes.js';
