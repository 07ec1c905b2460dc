/** The parts of the `checks:` config section this plugin reads (defaults from plugin.yaml). */
export interface NetworkConfig {
  network_connectivity: { targets: string[]; timeout_ms: number; require_default_route: boolean };
  dns_resolution: { names: string[]; servers: string[]; timeout_ms: number };
}
