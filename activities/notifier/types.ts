import type { Alert } from '../../domain/alert';

/**
 * A notifier: one channel of one service. send() delivers one alert in the service's own
 * message format (signed where the service signs). It is not idempotent: a retry may deliver
 * twice, so the caller sends each event once and lets Temporal retry only failures. A
 * delivery the service refuses (non-2xx, or a 2xx with the service's error code) throws.
 */
export interface Notifier {
  readonly type: 'webhook' | 'slack' | 'feishu' | 'dingtalk' | 'wecom';
  send(alert: Alert, options?: { signal?: AbortSignal }): Promise<void>;
}
