import { Connection } from '@temporalio/client';
import type { Logger } from '../activities/logger';
import {
  describeTemporalConnection,
  explainTemporalConnectionError,
  temporalConnectionOptions,
  type TemporalConnectionConfig,
} from '../activities/temporal-connection';
import type { TemporalHealth } from './context';

/**
 * A Temporal connection that is made on first use, so the api starts (and reports 503) while
 * Temporal is down, and reconnects when it is back. TLS, the client certificate and the API
 * key come from the configuration (see activities/temporal-connection.ts); their files are
 * read here, once, and a bad one is a ConfigError naming its variable. A failed health check
 * is logged with its reason (an untrusted server certificate, a refused client certificate...)
 * each time the reason changes, not on every /healthz.
 */
export function connectTemporal(
  config: TemporalConnectionConfig,
  options: { timeoutMs: number; logger: Logger },
) {
  const { timeoutMs, logger } = options;
  const connectionOptions = temporalConnectionOptions(config);
  if (connectionOptions.tls === false && connectionOptions.apiKey !== undefined) {
    logger.warn(
      { temporal: config.TEMPORAL_ADDRESS },
      'TEMPORAL_API_KEY is sent without TLS (TEMPORAL_TLS=false): only to a proxy on a trusted network',
    );
  }
  const connection = Connection.lazy(connectionOptions);
  let lastFailure: string | undefined;
  const health: TemporalHealth = {
    async check() {
      try {
        // Answered only by a frontend that serves the workflow API, unlike a bare TCP check.
        await connection.withDeadline(Date.now() + timeoutMs, () =>
          connection.workflowService.getSystemInfo({}),
        );
        if (lastFailure !== undefined) {
          logger.info(describeTemporalConnection(config), 'Temporal is reachable again');
          lastFailure = undefined;
        }
        return true;
      } catch (error) {
        const explained = await explainTemporalConnectionError(
          error,
          config,
          connectionOptions,
          timeoutMs,
        );
        if (explained.reason !== lastFailure) {
          lastFailure = explained.reason;
          logger.warn({ err: explained }, 'Temporal cannot be reached');
        }
        return false;
      }
    },
  };
  return { connection, health };
}
