export * from './mongo';
export { ApplicationRepository } from './applications';
export { DeploymentRepository, type NewDeployment, type DeploymentQuery } from './deployments';
export { PackageRepository } from './packages';
export { AnalysisReportRepository } from './analysis-reports';
export { WebhookDeliveryRepository, type WebhookDelivery } from './webhook-deliveries';
export {
  TokenRepository,
  hashToken,
  defaultLastUsedGranularityMs,
  type TokenRepositoryOptions,
} from './tokens';
export { AuditRepository } from './audit';
export { GuardEvaluationRepository } from './guard-evaluations';
export { newId } from './documents';
