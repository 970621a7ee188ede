import { DefaultLogger, Runtime } from '@temporalio/worker';

// Tests print only what is wrong: the SDK's info logs (worker state changes) and Core's
// warnings (the replay test's expected nondeterminism) would bury a failure's output.
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
});
