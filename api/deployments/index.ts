import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context';
import { validationHook } from '../errors';
import * as handlers from './handlers';
import * as routes from './routes';

export const deploymentsApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  .openapi(routes.createDeployment, handlers.createDeployment)
  .openapi(routes.listDeployments, handlers.listDeployments)
  .openapi(routes.getDeployment, handlers.getDeployment)
  .openapi(routes.getAnalysis, handlers.getAnalysis)
  .openapi(routes.getAnalysisSeries, handlers.getAnalysisSeries)
  .openapi(routes.getGuardEvaluations, handlers.getGuardEvaluations);

// One operation per release action (POST /api/v1/deployments/{id}/<action>), one handler.
for (const action of routes.releaseActions) {
  deploymentsApi.openapi(routes.deploymentActionRoute(action), handlers.deploymentAction(action));
}
