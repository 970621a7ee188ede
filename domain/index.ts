export * from './application';
export * from './deployment';
export * from './analysis-report';
export * from './errors';
export * from './search-attributes';
export * from './batch-plan';
export * from './release';
