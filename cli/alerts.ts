import { expectedAlerts, givenUpDeliveries, type AlertTarget } from '../domain/alert-deliveries';
import { body } from './api-client';
import type { CommandContext } from './context';
import type { ChannelsByName } from './format';
import type { Deployment, NotifyChannelView } from '../client';

/**
 * What each channel is (its type and host), asked of the api once and only when a delivery
 * failed: the loud line names where the alert did not go. Nothing when the api does not say.
 */
export function channelLookup(context: CommandContext) {
  let channels: Promise<ChannelsByName> | undefined;
  return async (view: Deployment): Promise<ChannelsByName | undefined> => {
    const failed = givenUpDeliveries(view.alert_deliveries).length > 0;
    if (!failed) return undefined;
    channels ??= context.client.GET('/api/v1/channels').then(
      (answer) => new Map(body(answer).channels.map((channel) => [channel.name, channel])),
      () => new Map<string, NotifyChannelView>(),
    );
    return await channels;
  };
}

/**
 * The alerts a release that ended sends as it ends (its rollback, its failure) to each channel
 * of its application's policy: what a watch waits to see delivered or given up on before it
 * exits. Not the analysis' alert, which follows minutes later. None when the application
 * cannot be read.
 */
export async function alertsAtEnd(
  context: CommandContext,
  view: Deployment,
): Promise<AlertTarget[]> {
  try {
    const app = body(
      await context.client.GET('/api/v1/applications/{id}', {
        params: { path: { id: view.app_id } },
      }),
    );
    return expectedAlerts(view.status, app.rollback_policy).filter(
      (target) => target.kind !== 'analysis_ready',
    );
  } catch {
    return [];
  }
}
