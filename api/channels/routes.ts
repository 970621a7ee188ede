import { createRoute, z } from '@hono/zod-openapi';
import { ChannelName, ChannelView, NotifyChannel } from '../../domain';
import { errorResponses, withJsonBodyErrors, link } from '../responses';
import { json } from '../route-parts';

const ChannelViewSchema = ChannelView.openapi('NotifyChannelView');

/** The `{name}` path parameter of a channel. */
export const ChannelNameParam = z.object({
  name: ChannelName.openapi({ param: { name: 'name', in: 'path' }, example: 'oncall' }),
});

export const listChannels = createRoute({
  method: 'get',
  path: '/api/v1/channels',
  tags: ['channels'],
  operationId: 'listChannels',
  summary:
    'List the notification channels (name, type, host, whether a secret is set, where it comes from; never the URL path or the secret)',
  responses: {
    200: {
      description: 'Channels, by name',
      content: json(z.object({ channels: z.array(ChannelViewSchema) })),
    },
  },
});

export const putChannel = createRoute({
  method: 'put',
  path: '/api/v1/channels/{name}',
  tags: ['channels'],
  operationId: 'putChannel',
  summary:
    'Create or replace a notification channel; it works for the next alert, without a restart',
  request: {
    params: ChannelNameParam,
    body: { required: true, content: json(NotifyChannel.openapi('NotifyChannel')) },
  },
  responses: withJsonBodyErrors({
    200: {
      description: 'The channel as stored',
      content: json(ChannelViewSchema),
      links: {
        deleteChannel: link('deleteChannel', 'Delete this channel', {
          name: '$response.body#/name',
        }),
      },
    },
    409: errorResponses[409],
  }),
});

export const deleteChannel = createRoute({
  method: 'delete',
  path: '/api/v1/channels/{name}',
  tags: ['channels'],
  operationId: 'deleteChannel',
  summary: 'Delete a notification channel no application names',
  request: { params: ChannelNameParam },
  responses: {
    204: { description: 'Deleted' },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
  },
});
