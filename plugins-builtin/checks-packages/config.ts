/** The parts of the `checks:` config section this plugin reads (defaults from plugin.yaml). */
export interface PackagesConfig {
  apt_status: { lists_max_age_days: number };
  security_updates: { warn_count: number; fail_count: number };
}
