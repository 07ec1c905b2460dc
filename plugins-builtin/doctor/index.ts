/**
 * doctor: the `cx-ops doctor` command. It owns no checks: it runs whatever `check`
 * contributions the registry holds (built-in or third-party, trusted or sandboxed) and the
 * `fix` contributions they name.
 */
import { definePlugin } from 'cx-ops/sdk';
import { doctorCommand } from './doctor-command.js';

export default definePlugin({
  name: 'doctor',
  contributes: [doctorCommand],
});
