import { createHmac, timingSafeEqual } from 'node:crypto';
import { createRoute, OpenAPIHono, z, type RouteHandler } from '@hono/zod-openapi';
import { parseGitHubRepo } from '../../activities/changes/repo-url';
import { checkPackageNames, GIT_SHA_PATTERN } from '../../activities/package-build';
import { FailureType, RelguardError, versionProblem, type Application } from '../../domain';
import type { ApiEnv, ApiVariables } from '../context';
import { startRelease } from '../deployments/start-release';
import { errorBody, validationBody, validationHook } from '../errors';
import { errorResponses } from '../responses';
import { json } from '../route-parts';

const DELIVERY_SOURCE = 'github';
const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** The repository as GitHub's events describe it; every URL form it gives out is matched. */
const Repository = z.looseObject({
  full_name: z.string(),
  html_url: z.string(),
  clone_url: z.string().optional(),
  ssh_url: z.string().optional(),
  git_url: z.string().optional(),
});

const PushEvent = z.looseObject({
  ref: z.string(),
  /** What the ref points to after the push: for an annotated tag, the tag object. */
  after: z.string().optional(),
  /** For a tag push, the commit the tag points to (GitHub sends it since 2021). */
  head_commit: z.looseObject({ id: z.string() }).nullish(),
  deleted: z.boolean().default(false),
  repository: Repository,
  pusher: z.looseObject({ name: z.string().optional() }).optional(),
  sender: z.looseObject({ login: z.string() }).optional(),
});

const CreateEvent = z.looseObject({
  ref: z.string(),
  ref_type: z.string(),
  repository: Repository,
  sender: z.looseObject({ login: z.string() }).optional(),
});

const PingEvent = z.looseObject({ zen: z.string().optional() });

const Pong = z.object({ pong: z.literal(true), zen: z.string().optional() });
const Duplicate = z.object({ delivery: z.string(), duplicate: z.literal(true) });
const IgnoredEvent = z.object({ delivery: z.string().optional(), ignored: z.string() });

const ReleaseStarted = z.object({
  deployment_id: z.string(),
  workflow_id: z.string(),
  workflow_url: z.string(),
  status: z.string(),
});
const ReleaseRefused = z.object({
  refused: z.string(),
  /** The release of the application that runs, when that is why. */
  active_deployment_id: z.string().optional(),
});

const Outcome = z.object({
  delivery: z.string(),
  tag: z.string(),
  started: z.array(
    z.object({
      app: z.string(),
      /** The package build; absent when the release builds it itself. */
      package_workflow_id: z.string().optional(),
      release: z.union([ReleaseStarted, ReleaseRefused]).optional(),
    }),
  ),
  ignored: z.array(z.object({ app: z.string().optional(), reason: z.string() })),
});
type Outcome = z.infer<typeof Outcome>;

const route = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/github',
  tags: ['webhooks'],
  operationId: 'receiveGithubWebhook',
  // The body's signature (X-Hub-Signature-256) is its authentication: no bearer token.
  security: [],
  summary: 'GitHub webhook: a pushed tag builds its package and, with auto_release, releases it',
  description:
    'Configure it on the repository with content type `application/json`, a secret equal to GITHUB_WEBHOOK_SECRET, and the `push` event (a `create` event names no commit, so the creation of a tag is acknowledged and ignored: its push builds it). Every request must carry `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body with that secret (401 otherwise; 503 while no secret is configured); no bearer token is asked for. A tag push starts the package build of every application whose `repo` is the repository, and the release of those with `auto_release`. A delivery id seen before starts nothing (200, `duplicate`). Other events and branches are acknowledged and ignored (202).',
  request: {
    headers: z.object({
      // Required in the document, optional to the validation: the handler checks the signature
      // before anything else (401), and only a signed delivery is told what else it lacks (400).
      'x-hub-signature-256': z
        .string()
        .optional()
        .openapi({
          param: { required: true },
          description: '`sha256=` and the hex HMAC-SHA256 of the raw body (401 without it)',
        }),
      'x-github-event': z
        .string()
        .optional()
        .openapi({
          param: { required: true },
          minLength: 1,
          example: 'push',
          description: 'The event (`ping`, `push`, `create`; others are ignored): 400 without it',
        }),
      'x-github-delivery': z.string().optional().openapi({
        description:
          'Unique per delivery: a tag push without it is 400 (a redelivery could not be told apart)',
      }),
    }),
    // Described, not validated: the signature is checked over the raw body before it is parsed.
    body: {
      required: true,
      content: json({
        type: 'object' as const,
        description: "GitHub's event payload (`ping`, `push` or `create`)",
      }),
    },
  },
  responses: {
    200: {
      description: 'A ping answered, or a delivery seen before (nothing started)',
      content: json(z.union([Pong, Duplicate])),
    },
    202: {
      description:
        'What was started for each application of the repository, or why the event was ignored',
      content: json(z.union([Outcome, IgnoredEvent])),
    },
    400: errorResponses[400],
    401: {
      description: 'Missing, malformed or wrong signature',
      content: errorResponses[400].content,
    },
    422: errorResponses[422],
    503: {
      description: 'No GITHUB_WEBHOOK_SECRET configured, or a dependency is unavailable',
      content: errorResponses[503].content,
    },
  },
});

/** Why the request is not GitHub's, or undefined when its signature is right. */
function signatureProblem(secret: string, body: Uint8Array, header: string | undefined) {
  if (header === undefined || header === '') return 'missing X-Hub-Signature-256';
  const hex = SIGNATURE.exec(header.trim())?.[1];
  if (hex === undefined) return 'malformed X-Hub-Signature-256: expected sha256=<64 hex digits>';
  const expected = createHmac('sha256', secret).update(body).digest();
  // Both are 32 bytes here, so the comparison takes the same time whatever they hold.
  if (!timingSafeEqual(expected, Buffer.from(hex, 'hex'))) {
    return 'X-Hub-Signature-256 does not match the body: check the secret';
  }
  return undefined;
}

/** `host/owner/name` in lower case: GitHub's names are case-insensitive. */
function repoKey(host: string, owner: string, name: string): string {
  const canonicalHost =
    host === 'www.github.com' || host === 'ssh.github.com' ? 'github.com' : host;
  return `${canonicalHost}/${owner}/${name}`.toLowerCase();
}

/** Every way the event's repository may be written in an application's `repo`. */
function repositoryKeys(repository: z.infer<typeof Repository>): Set<string> {
  const keys = new Set<string>();
  const urls = [repository.html_url, repository.clone_url, repository.ssh_url, repository.git_url];
  for (const url of urls) {
    const parsed = url === undefined ? undefined : parseGitHubRepo(url);
    if (parsed !== undefined) keys.add(repoKey(parsed.host, parsed.owner, parsed.name));
  }
  const host = parseGitHubRepo(repository.html_url)?.host;
  const [owner, name] = repository.full_name.split('/');
  if (host !== undefined && owner && name) keys.add(repoKey(host, owner, name));
  return keys;
}

function usesRepository(app: Application, keys: Set<string>): boolean {
  // A local path parses to nothing, so it never matches a GitHub repository.
  const parsed = app.repo ? parseGitHubRepo(app.repo) : undefined;
  return parsed !== undefined && keys.has(repoKey(parsed.host, parsed.owner, parsed.name));
}

/** Why `tag` cannot be a version of `app` (a tag like `release/1.0` names no package), if so. */
function unusableTag(app: Application, tag: string): string | undefined {
  try {
    checkPackageNames(app.name, tag);
    return undefined;
  } catch (error) {
    if (error instanceof RelguardError) return error.message;
    throw error;
  }
}

/** Starts the release of `tag`; a refusal the application's state explains is reported. */
async function autoRelease(
  vars: ApiVariables,
  app: Application,
  tag: string,
  sha: string | undefined,
  requestedBy: string,
): Promise<z.infer<typeof ReleaseStarted> | z.infer<typeof ReleaseRefused>> {
  try {
    const deployment = await startRelease(vars, {
      app_id: app.id,
      package_version: tag,
      requested_by: requestedBy,
      expected_sha: sha,
    });
    return {
      deployment_id: deployment.id,
      workflow_id: deployment.workflow_id,
      workflow_url: deployment.workflow_url,
      status: deployment.status,
    };
  } catch (error) {
    // A release already running (409) or a configuration that cannot be released (422) is
    // the application's state, not a failed delivery: GitHub redelivering it changes nothing.
    if (
      error instanceof RelguardError &&
      (error.type === FailureType.Conflict || error.type === FailureType.BadConfig)
    ) {
      // The slot's conflict names the release holding it (ApplicationRepository.claimRelease).
      const active = (error.details as { deployment_id?: string } | undefined)?.deployment_id;
      return {
        refused: error.message,
        ...(error.type === FailureType.Conflict && active !== undefined
          ? { active_deployment_id: active }
          : {}),
      };
    }
    throw error;
  }
}

/** A full git object name, lower-cased, or undefined for anything else (GitHub's zeros too). */
function shaOf(value: string | undefined): string | undefined {
  const sha = value?.toLowerCase();
  return sha !== undefined && GIT_SHA_PATTERN.test(sha) && !/^0+$/.test(sha) ? sha : undefined;
}

/**
 * The tag an event announces, or why the event starts nothing. A push says where the tag is
 * (`sha`: the commit, or the tag object when GitHub sends no head commit); the build refuses
 * the tag if it is anywhere else by then. A create event names no SHA, so it starts nothing.
 */
function tagOf(
  event: string,
  payload: unknown,
):
  | { tag: string; sha?: string; repository: z.infer<typeof Repository>; sender: string }
  | { ignored: string }
  | { invalid: z.ZodError } {
  if (event === 'push') {
    const parsed = PushEvent.safeParse(payload);
    if (!parsed.success) return { invalid: parsed.error };
    const { ref, deleted, repository, sender, pusher } = parsed.data;
    if (!ref.startsWith('refs/tags/')) return { ignored: `a push to ${ref}, not a tag` };
    const tag = ref.slice('refs/tags/'.length);
    if (deleted) return { ignored: `tag ${tag} was deleted` };
    const problem = versionProblem(tag);
    if (problem !== undefined) {
      return {
        ignored: `tag ${JSON.stringify(tag)} is no version relguard releases: it ${problem}`,
      };
    }
    const sha = shaOf(parsed.data.head_commit?.id) ?? shaOf(parsed.data.after);
    return {
      tag,
      ...(sha === undefined ? {} : { sha }),
      repository,
      sender: sender?.login ?? pusher?.name ?? 'unknown',
    };
  }
  if (event === 'create') {
    const parsed = CreateEvent.safeParse(payload);
    if (!parsed.success) return { invalid: parsed.error };
    const { ref, ref_type: refType } = parsed.data;
    if (refType !== 'tag') return { ignored: `a ${refType} was created, not a tag` };
    // GitHub sends a pushed tag as a create and as a push; only the push names the commit the
    // build must find at the tag. A build or release started by the create would be joined by
    // the push, and its SHA lost: the push alone starts them.
    return { ignored: `tag ${ref} was created: its push event, which names its commit, builds it` };
  }
  return { ignored: `the ${event} event starts nothing` };
}

/**
 * GitHub's webhook. `secret` is GITHUB_WEBHOOK_SECRET; without it every request is refused,
 * since an unsigned event would let anyone start builds and releases.
 */
export function githubWebhook(options: { secret?: string | undefined }) {
  const handler: RouteHandler<typeof route, ApiEnv> = async (c) => {
    const vars = c.var;
    if (options.secret === undefined) {
      return c.json(
        errorBody(
          'not_configured',
          'the GitHub webhook is off: set GITHUB_WEBHOOK_SECRET to the secret of the webhook',
        ),
        503,
      );
    }
    // The signature covers the bytes GitHub sent, so they are read before anything parses them.
    const body = new Uint8Array(await c.req.arrayBuffer());
    const problem = signatureProblem(options.secret, body, c.req.header('x-hub-signature-256'));
    if (problem !== undefined) {
      vars.logger.warn({ problem }, 'github webhook refused');
      return c.json(errorBody('unauthorized', problem), 401);
    }

    const event = c.req.header('x-github-event');
    const delivery = c.req.header('x-github-delivery');
    if (!event) return c.json(errorBody('bad_request', 'missing X-GitHub-Event'), 400);
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      const form = c.req.header('content-type')?.includes('x-www-form-urlencoded') === true;
      return c.json(
        errorBody(
          'bad_request',
          form
            ? "the body is form-encoded: set the webhook's content type to application/json"
            : 'the body is not valid JSON',
        ),
        400,
      );
    }
    // Every GitHub payload is an object, as the document says; JSON of another kind (a number,
    // an array, null) is no event, whatever the header names, and is refused, not ignored.
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return c.json(
        errorBody('validation_failed', `invalid ${event} event: the payload is not a JSON object`, [
          { field: '(body)', message: 'expected an object' },
        ]),
        422,
      );
    }

    if (event === 'ping') {
      const zen = PingEvent.safeParse(payload).data?.zen;
      return c.json({ pong: true as const, ...(zen === undefined ? {} : { zen }) }, 200);
    }
    const announced = tagOf(event, payload);
    if ('invalid' in announced) {
      return c.json(validationBody(announced.invalid, `${event} event`), 422);
    }
    if ('ignored' in announced) {
      vars.logger.info({ event, delivery, ignored: announced.ignored }, 'github webhook');
      return c.json({ ...(delivery ? { delivery } : {}), ignored: announced.ignored }, 202);
    }
    if (!delivery) {
      // Without it a redelivery could not be told apart, and might release twice.
      return c.json(errorBody('bad_request', 'missing X-GitHub-Delivery'), 400);
    }
    const claimed = await vars.store.webhookDeliveries.claim({
      delivery_id: delivery,
      source: DELIVERY_SOURCE,
      event,
      received_at: Date.now(),
    });
    if (!claimed) {
      vars.logger.info({ event, delivery }, 'github webhook: delivery seen before');
      return c.json({ delivery, duplicate: true as const }, 200);
    }

    const { tag, sha, repository, sender } = announced;
    const outcome: Outcome = { delivery, tag, started: [], ignored: [] };
    try {
      const keys = repositoryKeys(repository);
      const apps = (await vars.store.applications.list()).filter((app) =>
        usesRepository(app, keys),
      );
      if (apps.length === 0) {
        outcome.ignored.push({ reason: `no application uses ${repository.full_name}` });
      }
      for (const app of apps) {
        const unusable = unusableTag(app, tag);
        if (unusable !== undefined) {
          outcome.ignored.push({ app: app.name, reason: unusable });
          continue;
        }
        // A release builds its package first: a build of its own beside it would build twice.
        const release = app.auto_release
          ? await autoRelease(vars, app, tag, sha, `github:${sender}`)
          : undefined;
        const build =
          release === undefined || 'refused' in release
            ? await vars.releases.buildPackage(
                app,
                tag,
                sha === undefined ? {} : { expectedSha: sha },
              )
            : undefined;
        outcome.started.push({
          app: app.name,
          ...(build === undefined ? {} : { package_workflow_id: build.workflowId }),
          ...(release === undefined ? {} : { release }),
        });
      }
    } catch (error) {
      // Forget the delivery so that GitHub's redelivery tries again: what did start is then
      // joined (the build) or refused as running (the release), the rest starts.
      await vars.store.webhookDeliveries.release(DELIVERY_SOURCE, delivery).catch(() => undefined);
      throw error;
    }
    vars.logger.info({ event, repository: repository.full_name, ...outcome }, 'github webhook');
    return c.json(outcome, 202);
  };

  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook }).openapi(route, handler);
}
