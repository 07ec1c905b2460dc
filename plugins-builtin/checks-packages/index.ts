/**
 * checks-packages: apt_status and security_updates (real dpkg and apt, against the inspected
 * root's status file and lists; answers cached while those are unchanged), and the fix
 * apt_configure_pending.
 */
import { definePlugin } from 'cx-ops/sdk';
import { aptConfigureFix, aptStatusCheck } from './apt-status.js';
import { securityUpdatesCheck } from './security-updates.js';

export default definePlugin({
  name: 'checks-packages',
  contributes: [aptStatusCheck, securityUpdatesCheck, aptConfigureFix],
});
