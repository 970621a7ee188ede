export * from './application';
export * from './deployment';
export * from './analysis-report';
export * from './errors';
export * from './search-attributes';
