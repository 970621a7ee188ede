import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prometheusAuth } from '../../activities/metrics';
import { ConfigError, loadConfig } from '../../domain/config';
import { loadMcpConfig, mcpConfigVariables, mcpPrometheusOptions } from '../../mcp/config';
import { projectRoot } from '../support/tools';

function problems(load: () => unknown): { variable: string; message: string }[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadMcpConfig', () => {
  it('gives every variable its default on an empty environment', () => {
    expect(loadMcpConfig({})).toEqual({
      PROMETHEUS_URL: 'http://127.0.0.1:9090',
      LOG_LEVEL: 'info',
      MCP_HOST: '127.0.0.1',
      MCP_PORT: 8811,
      MCP_QUERY_TIMEOUT_MS: 10_000,
    });
  });

  it('reads the settings and gives the Prometheus client its options', () => {
    const config = loadMcpConfig({
      PROMETHEUS_URL: 'https://prom.example/prefix',
      PROMETHEUS_BEARER_TOKEN: 'tok3n',
      MCP_HOST: '0.0.0.0',
      MCP_PORT: '9000',
      MCP_QUERY_TIMEOUT_MS: '2500',
      LOG_LEVEL: 'debug',
      API_PORT: 'not read here',
    });
    expect(config).toMatchObject({ MCP_HOST: '0.0.0.0', MCP_PORT: 9000, LOG_LEVEL: 'debug' });
    expect(mcpPrometheusOptions(config)).toEqual({
      url: 'https://prom.example/prefix',
      timeoutMs: 2500,
      auth: { type: 'bearer', token: 'tok3n' },
    });
  });

  it('names every bad variable in one error', () => {
    const found = problems(() =>
      loadMcpConfig({ PROMETHEUS_URL: 'nope', MCP_PORT: '70000', MCP_QUERY_TIMEOUT_MS: 'soon' }),
    );
    expect(found.map((problem) => problem.variable).sort()).toEqual([
      'MCP_PORT',
      'MCP_QUERY_TIMEOUT_MS',
      'PROMETHEUS_URL',
    ]);
  });
});

describe('Prometheus credentials (the worker and the MCP server read the same variables)', () => {
  it.each([
    [{ PROMETHEUS_USERNAME: 'u' }, 'PROMETHEUS_PASSWORD', 'required with PROMETHEUS_USERNAME'],
    [{ PROMETHEUS_PASSWORD: 'p' }, 'PROMETHEUS_USERNAME', 'required with PROMETHEUS_PASSWORD'],
    [
      { PROMETHEUS_BEARER_TOKEN: 't', PROMETHEUS_USERNAME: 'u', PROMETHEUS_PASSWORD: 'p' },
      'PROMETHEUS_BEARER_TOKEN',
      'not both',
    ],
  ])('%j is refused, naming %s', (env, variable, message) => {
    for (const load of [() => loadMcpConfig(env), () => loadConfig(env)]) {
      const found = problems(load);
      expect(found).toHaveLength(1);
      expect(found[0]?.variable).toBe(variable);
      expect(found[0]?.message).toContain(message);
    }
  });

  it.each([
    [{}, undefined],
    [{ PROMETHEUS_BEARER_TOKEN: 't' }, { type: 'bearer', token: 't' }],
    [
      { PROMETHEUS_USERNAME: 'u', PROMETHEUS_PASSWORD: 'p' },
      { type: 'basic', username: 'u', password: 'p' },
    ],
  ])('%j gives the client %j', (env, auth) => {
    expect(prometheusAuth(loadConfig(env))).toEqual(auth);
    expect(prometheusAuth(loadMcpConfig(env))).toEqual(auth);
  });

  it('never puts a credential in the error', () => {
    const found = problems(() =>
      loadMcpConfig({ PROMETHEUS_BEARER_TOKEN: 's3cret', PROMETHEUS_PASSWORD: 'pa55' }),
    );
    expect(JSON.stringify(found)).not.toMatch(/s3cret|pa55/);
  });
});

describe('documentation', () => {
  it('docs/configuration.md lists every variable', () => {
    const documented = readFileSync(path.join(projectRoot, 'docs', 'configuration.md'), 'utf8');
    expect(mcpConfigVariables.filter((name) => !documented.includes(`\`${name}\``))).toEqual([]);
  });

  it('.env.example shows every variable with its default', () => {
    // The MCP server's own variables are commented out there: the worker and the api do not
    // read them, and test/unit/config.test.ts holds the active lines to domain/config.ts.
    const lines = readFileSync(path.join(projectRoot, '.env.example'), 'utf8')
      .split('\n')
      .map((line) => line.replace(/^# (?=[A-Z_]+=)/, ''))
      .filter((line) => /^[A-Z_]+=/.test(line));
    const env: Record<string, string> = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(mcpConfigVariables.filter((name) => !(name in env))).toEqual([]);
    expect(loadMcpConfig(env)).toEqual(loadMcpConfig({}));
  });
});
