export * from './mongo';
export { ApplicationRepository } from './applications';
export { DeploymentRepository, type NewDeployment, type DeploymentQuery } from './deployments';
export { PackageRepository } from './packages';
export { AnalysisReportRepository } from './analysis-reports';
export { newId } from './documents';
