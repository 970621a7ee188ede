/** The demo application's endpoints: what request faults apply to unless `routes` says less. */
export const businessRoutes = ['/api/orders', '/api/users/:id', '/api/pay'] as const;

/**
 * What a network fault may also name: a partitioned host fails its health check and its
 * scrape too. /faults is left out on purpose, so a fault can always be removed.
 */
export const networkRoutes = [...businessRoutes, '/healthz', '/version', '/metrics'] as const;
