/**
 * Every activity the pipeline's steps name (pipeline/phases.ts), registered with the worker as
 * they are exported here. Each takes one StepInput and returns a StepResult.
 */
export { buildImages, validateCompose, composeUp, composeDown, healthStatus } from './compose';
export { inspectHardening } from './hardening';
export { auditNetworkPolicy } from './policy-audit';
export { auditListenerAuth, auditListenerTls } from './listener-audit';
export { auditContainerSecrets } from './env-secrets';
export { killGatewayReplicaAndMeasureRecovery, killReplicaAndMeasureRecovery } from './failover';
export { collectLogs } from './logs';
export { gatewayHealth, mcpRoundTrip, resolveServers } from './gateway';
export { requestTracing } from './tracing';
export { registerServer } from './discovery';
export { checkMetrics } from './metrics';
export { alertRules } from './alert-rules';
export { adminInventory, debugStreamCall, sessionsListed } from './debug-tools';
export { poolStatistics, routingWeights, trafficShift } from './routing';
export { addRolloutBackend, shiftTraffic, promoteRollout, rollBackRollout } from './rollout';
