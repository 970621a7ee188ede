import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPrometheusMcp, type PrometheusMcpSession } from '../../mcp/client';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { silence, startStandIn, success, type StandIn } from './stand-in-prometheus';

/** connectPrometheusMcp as the analysis activity uses it: a spawned server over stdio. */
let prometheus: TestPrometheus;
let standIn: StandIn;
const sessions: PrometheusMcpSession[] = [];

async function connect(
  options: Parameters<typeof connectPrometheusMcp>[0],
): Promise<PrometheusMcpSession> {
  const session = await connectPrometheusMcp({ logLevel: 'silent', ...options });
  sessions.push(session);
  return session;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  [prometheus, standIn] = await Promise.all([startPrometheus(), startStandIn()]);
});
afterAll(async () => {
  await Promise.all(sessions.map((session) => session.close()));
  await Promise.all([prometheus?.stop(), standIn?.stop()]);
});

describe('connectPrometheusMcp', () => {
  it('lists the tools, calls them, reports tool errors as ok: false, and closes', async () => {
    const session = await connect({ prometheusUrl: prometheus.url });
    const pid = session.pid;
    expect(pid).toEqual(expect.any(Number));

    const tools = await session.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'alerts',
      'label_values',
      'list_metrics',
      'metric_metadata',
      'query',
      'query_range',
      'targets',
    ]);

    const answer = await session.callTool('query', { query: 'vector(3)' });
    expect(answer.ok).toBe(true);
    expect(JSON.parse(answer.text)).toMatchObject({ series: [{ labels: {}, value: 3 }] });

    const bad = await session.callTool('query', { query: 'sum(' });
    expect(bad.ok).toBe(false);
    expect(bad.text).toMatch(/^query "sum\(" failed: bad_data: /);

    const unknown = await session.callTool('no_such_tool', {});
    expect(unknown.ok).toBe(false);

    const invalid = await session.callTool('query', { limit: 'many' });
    expect(invalid.ok).toBe(false);
    expect(invalid.text).toContain('Invalid arguments for tool query');

    await session.close();
    expect(session.pid).toBeNull();
    expect(alive(pid ?? 0)).toBe(false);
  });

  it('reports an unreachable Prometheus as a tool error that names it', async () => {
    const port = await freePort();
    const session = await connect({ prometheusUrl: `http://127.0.0.1:${port}` });
    const answer = await session.callTool('targets', {});
    expect(answer.ok).toBe(false);
    expect(answer.text).toMatch(
      new RegExp(
        `^targets failed: network: cannot reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
      ),
    );
    expect(answer.text).toContain('unreachable');
  });

  it('hands the credentials and the timeout to the server, and shows neither', async () => {
    standIn.answers.set('/api/v1/alerts', success({ alerts: [] }));
    standIn.answers.set('/api/v1/query', silence);
    const session = await connect({
      prometheusUrl: standIn.url,
      auth: { type: 'basic', username: 'analyst', password: 's3cret' },
      timeoutMs: 300,
    });
    expect((await session.callTool('alerts')).ok).toBe(true);
    expect(standIn.seen.at(-1)?.authorization).toBe(
      `Basic ${Buffer.from('analyst:s3cret').toString('base64')}`,
    );

    const started = Date.now();
    const slow = await session.callTool('query', { query: 'up' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(slow).toEqual({
      ok: false,
      text: expect.stringMatching(/^query "up" failed: client_timeout: .*within 300 ms/) as unknown,
    });
    expect(slow.text).not.toContain('s3cret');
  });

  it('rejects only when the server is gone', async () => {
    const session = await connect({ prometheusUrl: prometheus.url });
    process.kill(session.pid ?? 0, 'SIGKILL');
    await delay(200);
    await expect(session.callTool('alerts', {})).rejects.toThrow();
  });

  it('says why the server did not start, naming the variable', async () => {
    await expect(connect({ prometheusUrl: 'not a url' })).rejects.toThrow(
      /did not start[\s\S]*PROMETHEUS_URL/,
    );
  });
});
