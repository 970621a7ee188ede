import type { RouteHandler } from '@hono/zod-openapi';
import type { StoredChannel } from '../../activities/db';
import { urlOrigin } from '../../activities/notifier/delivery';
import { conflict, notFound, type ChannelView } from '../../domain';
import type { ApiEnv } from '../context';
import type * as routes from './routes';

/** The URL's scheme and host: never its path or query (tokens live there) nor user info. */
const hostOf = (url: string): string => urlOrigin(url) ?? '(an invalid URL)';

/** A stored channel as anyone may see it. */
export function channelView(channel: StoredChannel): ChannelView {
  return {
    name: channel.name,
    type: channel.type,
    host: hostOf(channel.url),
    secret_set: channel.secret !== undefined,
    source: channel.source,
    updated_at: channel.updated_at,
  };
}

export const listChannels: RouteHandler<typeof routes.listChannels, ApiEnv> = async (c) => {
  const channels = await c.var.store.notifyChannels.list();
  return c.json({ channels: channels.map(channelView) }, 200);
};

export const putChannel: RouteHandler<typeof routes.putChannel, ApiEnv> = async (c) => {
  const { name } = c.req.valid('param');
  const input = c.req.valid('json');
  const { notifyChannels } = c.var.store;
  const current = await notifyChannels.find(name);
  if (c.var.envChannelNames?.includes(name) === true) {
    throw conflict(
      `channel ${name} comes from this api's NOTIFY_CHANNELS: the api and the worker write it again from their environment at each start, so change it there (or give this channel another name)`,
      { name, source: 'env' },
    );
  }
  const stored = await notifyChannels.put(name, input, 'api');
  // Never the URL or the secret: the host says which service.
  c.var.logger.info(
    { channel: name, type: stored.type, host: hostOf(stored.url), replaced: current !== undefined },
    'notification channel put',
  );
  if (current?.source === 'env') {
    // Taken out of this api's environment (a leaked URL, say): the api may replace it. A
    // worker whose NOTIFY_CHANNELS still has it writes it back at its next start.
    c.var.logger.warn(
      { channel: name },
      'a channel from NOTIFY_CHANNELS replaced through the api: check no worker still has it in its environment',
    );
  }
  return c.json(channelView(stored), 200);
};

export const deleteChannel: RouteHandler<typeof routes.deleteChannel, ApiEnv> = async (c) => {
  const { name } = c.req.valid('param');
  const { notifyChannels, applications } = c.var.store;
  if ((await notifyChannels.find(name)) === undefined) throw notFound('channel', name);
  const users = (await applications.list())
    .filter((app) => app.rollback_policy.notify.includes(name))
    .map((app) => app.name);
  if (users.length > 0) {
    throw conflict(
      `channel ${name} is named by the rollback_policy.notify of ${users.join(', ')}: remove it there first`,
      { name, applications: users },
    );
  }
  if (!(await notifyChannels.delete(name))) throw notFound('channel', name);
  c.var.logger.info({ channel: name }, 'notification channel deleted');
  return c.body(null, 204);
};
