export * from '../../demo/demo-repo';
