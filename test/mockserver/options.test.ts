import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliOptions } from '../../mockserver/cli-options';
import { loadConfig } from '../../mockserver/config';
import { formatDuration, parseDuration } from '../../mockserver/duration';
import { loadOptionsFromArgs } from '../../mockserver/load-generator';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['250', 250],
    [' 10s ', 10_000],
    [1500, 1500],
    [0, 0],
  ] as const)('%j is %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(['', 'abc', '-1s', '10x', '5 s', 's', '1s2', -5, Number.NaN, Infinity])(
    '%j is refused',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );

  it.each([
    [3_600_000, '1h'],
    [120_000, '2m'],
    [30_000, '30s'],
    [1_500, '1500ms'],
  ])('formats %d as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('parseCliOptions', () => {
  it('takes labels, host and port from the environment relguard sets', () => {
    const options = parseCliOptions([], {
      PORT: '4100',
      HOST: '0.0.0.0',
      RELGUARD_APP: 'shop',
      RELGUARD_VERSION: 'v1.2.3',
      RELGUARD_MACHINE_ID: 'm-1',
      RELGUARD_DEPLOY_PATH: '/srv/shop',
    });
    expect(options).toMatchObject({
      port: 4100,
      host: '0.0.0.0',
      app: 'shop',
      version: 'v1.2.3',
      instance: 'm-1',
      deployPath: '/srv/shop',
      baselineLatency: true,
    });
  });

  it('lets flags win over the environment', () => {
    const options = parseCliOptions(
      ['--port', '0', '--app', 'cli-app', '--app-version', 'v9', '--no-baseline-latency'],
      { PORT: '4100', RELGUARD_APP: 'shop', RELGUARD_VERSION: 'v1' },
    );
    expect(options).toMatchObject({
      port: 0,
      app: 'cli-app',
      version: 'v9',
      baselineLatency: false,
    });
  });

  it('defaults to loopback port 4000 and names a bad variable', () => {
    expect(parseCliOptions([], {})).toMatchObject({ port: 4000, host: '127.0.0.1' });
    expect(() => parseCliOptions([], { PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => parseCliOptions(['--port', '70000'], {})).toThrow(/--port/);
    expect(() => parseCliOptions(['--log-level', 'loud'], {})).toThrow(/LOG_LEVEL/);
    expect(() => parseCliOptions(['--bogus'], {})).toThrow(/bogus/);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mockserver-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads mockserver.config.json from the working directory, and nothing when absent', () => {
    expect(loadConfig(undefined, dir)).toEqual({ faults: [] });
    const fault = { type: 'error', params: { rate: 0.3, routes: ['/api/pay'] } };
    writeFileSync(path.join(dir, 'mockserver.config.json'), JSON.stringify({ faults: [fault] }));
    expect(loadConfig(undefined, dir)).toEqual({ faults: [fault] });
  });

  it('names the file and the field when the config is wrong or missing', () => {
    writeFileSync(path.join(dir, 'typo.json'), JSON.stringify({ fault: [] }));
    expect(() => loadConfig('typo.json', dir)).toThrow(/typo\.json.*fault: unknown parameter/);
    writeFileSync(path.join(dir, 'broken.json'), '{"faults": [');
    expect(() => loadConfig('broken.json', dir)).toThrow(/broken\.json/);
    expect(() => loadConfig('missing.json', dir)).toThrow(/missing\.json/);
  });
});

describe('loadOptionsFromArgs', () => {
  it('reads targets, rps and duration', () => {
    expect(
      loadOptionsFromArgs({
        targets: 'http://127.0.0.1:4001, http://127.0.0.1:4002/',
        rps: '50',
        duration: '60s',
      }),
    ).toMatchObject({
      targets: ['http://127.0.0.1:4001', 'http://127.0.0.1:4002/'],
      rps: 50,
      durationMs: 60_000,
      maxInFlight: 256,
      timeoutMs: 5_000,
    });
  });

  it('names the flag that is wrong', () => {
    expect(() => loadOptionsFromArgs({})).toThrow(/--targets/);
    expect(() => loadOptionsFromArgs({ targets: 'not a url' })).toThrow(/--targets/);
    expect(() => loadOptionsFromArgs({ targets: 'http://a:1', rps: '-3' })).toThrow(/--rps/);
    expect(() => loadOptionsFromArgs({ targets: 'http://a:1', duration: 'soon' })).toThrow(
      /--duration/,
    );
  });
});
