/**
 * The seed's library functions for other plugins and scripts: validate,
 * order and plan a service manifest, and generate its rollback, health-check and monitor
 * scripts. Pure functions of a manifest (no capabilities); the contribution kinds
 * (`health-check`, `deploy-driver`) and their request types come with them.
 */
export { readManifest, formatProblems, type ManifestProblem, type ManifestSource } from './read-manifest.js';
export { validateServiceManifest, BUILTIN_DRIVERS } from './validate-manifest.js';
export {
  getDeploymentOrder,
  getServiceDependencies,
  getServiceDependents,
  findCycles,
  serviceGraph,
} from './deployment-order.js';
export {
  generateDeploymentPlan,
  formatPlanText,
  formatPlanDot,
  type DeploymentPlan,
  type PlannedService,
} from './deployment-plan.js';
export { generateRollbackScript } from './rollback-script.js';
export { generateHealthCheck, generateHealthMonitor } from './health-scripts.js';
export { parseHealthCheck, HEALTH_CHECK_FORMS, type HealthCheckForm } from './health-check-form.js';
export {
  defineHealthCheck,
  probeHealth,
  HEALTH_CHECK_KIND,
  type HealthProbe,
  type HealthProbeRequest,
  type HealthState,
} from './health-check-kind.js';
export { healthGate, realClock, type Clock, type GateResult } from './health-gate.js';
export {
  defineDeployDriver,
  DEPLOY_DRIVER_KIND,
  type DriverDefinition,
  type DriverRequest,
  type DriverTarget,
  type DeployOutcome,
} from './deploy-driver-kind.js';
export type { ServiceManifest, ServiceSpec, HealthCheckSpec, DriverSpec } from './manifest-types.js';
