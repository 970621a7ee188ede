import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, loadConfig } from '../../domain/config';
import { projectRoot } from '../support/tools';

describe('loadConfig', () => {
  it('gives every variable its default on an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'relguard',
      MONGODB_DB: 'relguard',
      API_PORT: 3000,
      LOG_LEVEL: 'info',
    });
  });

  it('reads numbers and treats an empty variable as unset', () => {
    const config = loadConfig({ API_PORT: '8080', MONGODB_DB: '' });
    expect(config.API_PORT).toBe(8080);
    expect(config.MONGODB_DB).toBe('relguard');
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ API_PORT: 'eighty', MONGODB_URI: 'postgres://x', PROMETHEUS_URL: 'nope' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((problem) => problem.variable).sort();
    expect(problems).toEqual(['API_PORT', 'MONGODB_URI', 'PROMETHEUS_URL']);
    expect((error as ConfigError).message).toContain('MONGODB_URI: must be a mongodb://');
  });

  it('refuses a NOTIFY_CHANNELS channel whose name is not a channel name, naming it', () => {
    let error: unknown;
    try {
      loadConfig({
        NOTIFY_CHANNELS: JSON.stringify({
          oncall: { type: 'webhook', url: 'http://127.0.0.1:1/a' },
          'on call/2': { type: 'webhook', url: 'http://127.0.0.1:1/b' },
        }),
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      { variable: 'NOTIFY_CHANNELS', message: expect.stringContaining('"on call/2"') as string },
    ]);
  });

  it('links the console under the api unless CONSOLE_PUBLIC_URL says otherwise', () => {
    expect(loadConfig({ API_PUBLIC_URL: 'https://relguard.example.com/' }).CONSOLE_PUBLIC_URL).toBe(
      'https://relguard.example.com/console',
    );
    expect(
      loadConfig({ CONSOLE_PUBLIC_URL: 'https://console.example.com/relguard/' })
        .CONSOLE_PUBLIC_URL,
    ).toBe('https://console.example.com/relguard');
    expect(() => loadConfig({ CONSOLE_PUBLIC_URL: 'console' })).toThrow(/CONSOLE_PUBLIC_URL/);
  });

  it('is documented: docs/configuration.md lists every variable', () => {
    const documented = readFileSync(path.join(projectRoot, 'docs', 'configuration.md'), 'utf8');
    const missing = configVariables.filter((name) => !documented.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('.env.example', () => {
  it('names every variable with a value that loads', () => {
    const lines = readFileSync(path.join(projectRoot, '.env.example'), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line));
    const env: Record<string, string> = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(Object.keys(env).sort()).toEqual([...configVariables].sort());
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });
});
