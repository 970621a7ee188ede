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
  .openapi(routes.getGuardEvaluations, handlers.getGuardEvaluations)
  .openapi(routes.deploymentActionRoute('pause'), handlers.deploymentAction('pause'))
  .openapi(routes.deploymentActionRoute('resume'), handlers.deploymentAction('resume'))
  .openapi(routes.deploymentActionRoute('approve'), handlers.deploymentAction('approve'))
  .openapi(routes.deploymentActionRoute('promote'), handlers.deploymentAction('promote'))
  .openapi(routes.deploymentActionRoute('rollback'), handlers.deploymentAction('rollback'))
  .openapi(routes.deploymentActionRoute('cancel'), handlers.deploymentAction('cancel'));
