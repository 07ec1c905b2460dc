/**
 * checks-network: network_connectivity and dns_resolution. Targets come from config or from the
 * host's own configuration (package sources, default route, resolv.conf), never a hard-coded
 * public address; all probes run at once with short timeouts.
 */
import { definePlugin } from 'cx-ops/sdk';
import { connectivityCheck } from './connectivity.js';
import { dnsCheck } from './dns.js';

export default definePlugin({
  name: 'checks-network',
  contributes: [dnsCheck, connectivityCheck],
});
