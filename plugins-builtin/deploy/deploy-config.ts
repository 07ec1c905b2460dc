/** The deploy plugin's section of config.yaml (schema: its plugin.yaml config_schema). */
export type DeployConfig = {
  /** Where the supervisord driver writes program files; default <root>/etc/supervisor/conf.d. */
  supervisor_conf_dir?: string;
  /** supervisord.conf, for generated rollback scripts; default the services plugin's. */
  supervisor_config?: string;
  /** Where the systemd driver writes units; default <root>/etc/systemd/system. */
  systemd_unit_dir?: string;
};
