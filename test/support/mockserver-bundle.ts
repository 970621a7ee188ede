export * from '../../demo/mockserver-bundle';
