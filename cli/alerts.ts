import { expectedAlerts, givenUpDeliveries, type AlertTarget } from '../domain/alert-deliveries';
import { segment } from './api-client';
import type { CommandContext } from './context';
import type { ChannelsByName } from './format';
import type { Application, ChannelView, DeploymentView } from './types';

/**
 * What each channel is (its type and host), asked of the api once and only when a delivery
 * failed: the loud line names where the alert did not go. Nothing when the api does not say.
 */
export function channelLookup(context: CommandContext) {
  let channels: Promise<ChannelsByName> | undefined;
  return async (view: DeploymentView): Promise<ChannelsByName | undefined> => {
    const failed = givenUpDeliveries(view.alert_deliveries).length > 0;
    if (!failed) return undefined;
    channels ??= context.client.get<{ channels: ChannelView[] }>('/api/v1/channels').then(
      (answer) => new Map(answer.channels.map((channel) => [channel.name, channel])),
      () => new Map<string, ChannelView>(),
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
  view: DeploymentView,
): Promise<AlertTarget[]> {
  try {
    const app = await context.client.get<Application>(
      `/api/v1/applications/${segment(view.app_id)}`,
    );
    return expectedAlerts(view.status, app.rollback_policy).filter(
      (target) => target.kind !== 'analysis_ready',
    );
  } catch {
    return [];
  }
}
