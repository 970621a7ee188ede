// Every workflow the worker registers. Workflow code is bundled and replayed: it must stay
// deterministic (see the lint rules for this folder).
export { workerHealthWorkflow } from './worker-health';
export { releaseWorkflow } from './release/release';
export { packageWorkflow } from './package';
export { metricGuardWorkflow } from './metric-guard';
export { analysisWorkflow } from './analysis';
export { appHealthWorkflow } from './app-health/app-health';
export { retireMachinesWorkflow } from './retire-machines';
