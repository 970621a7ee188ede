import { describe, expect, it } from 'vitest';
import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { channelNamePattern, ChannelName } from '../../domain/alert';
import { Machine, machineLabelPattern } from '../../domain/application';
import { durationPattern, TokenName, tokenNamePattern } from '../../domain/auth';
import { durationSeconds } from '../../domain/duration';
import { integer, z } from '../../domain/zod';

/**
 * The patterns the OpenAPI document states are the server's own rules, character for
 * character: a client that checks a name with the document's pattern accepts exactly what the
 * api accepts. The document runs them as ECMAScript regular expressions with the `u` flag, as
 * JSON Schema validators do.
 */
const asDocumented = (pattern: string) => new RegExp(pattern, 'u');

describe('token names: the documented pattern is TokenName', () => {
  const pattern = asDocumented(tokenNamePattern);

  it('agrees on every one-character name of the Basic Multilingual Plane', () => {
    const disagreements: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const name = String.fromCharCode(code);
      if (pattern.test(name) !== TokenName.safeParse(name).success) {
        disagreements.push(`U+${code.toString(16).padStart(4, '0')}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it.each([
    ['ci', true],
    ['release bot for alice', true],
    ['  padded  ', true],
    ['名前', true],
    ['🚀 deployer', true],
    ['   ', false],
    ['\u3000\ufeff\u00a0', false],
    [' \u2028 ', false],
    ['bad\u0000name', false],
    ['tab\there', false],
    ['c1\u0085', false],
    ['', false],
  ])('%j: %s', (name, accepted) => {
    expect(TokenName.safeParse(name).success).toBe(accepted);
    expect(pattern.test(name)).toBe(accepted);
  });
});

describe('machine label keys: the documented propertyNames pattern is the server rule', () => {
  const pattern = asDocumented(machineLabelPattern);
  const machineWith = (key: string) =>
    Machine.safeParse({ id: 'm1', host: 'h', port: 1, labels: { [key]: 'v' } }).success;

  it.each([
    ['zone', true],
    ['_private', true],
    ['apps', true],
    ['jobs', true],
    ['my_app', true],
    ['x__', true],
    ['A9_', true],
    ['_', true],
    ['app', false],
    ['version', false],
    ['instance', false],
    ['job', false],
    ['__address__', false],
    ['__x', false],
    ['', false],
    ['1zone', false],
    ['a.b', false],
    ['$env', false],
    ['a-b', false],
  ])('%j: %s', (key, accepted) => {
    expect(machineWith(key)).toBe(accepted);
    expect(pattern.test(key)).toBe(accepted);
  });
});

describe('token lifetimes: the documented duration pattern is what durationSeconds reads', () => {
  const pattern = asDocumented(durationPattern);
  it.each([
    '90d',
    '12h',
    '1h30m',
    '1.5h',
    '3600',
    '90.25',
    '500ms',
    '10y',
    '1w2d',
    'h',
    '1.h',
    '.5h',
    '1 h',
    '1H',
    '-5m',
    '',
    '٣d',
    '1e3',
  ])('%j', (text) => {
    expect(pattern.test(text)).toBe(durationSeconds(text) !== undefined);
  });
});

describe('channel names: the documented pattern is ChannelName', () => {
  it.each(['oncall', 'team.ops-1', 'A_b', 'x'.repeat(64), 'x'.repeat(65), '-x', '.x', 'a b', ''])(
    '%j',
    (name) => {
      expect(asDocumented(channelNamePattern.source).test(name)).toBe(
        ChannelName.safeParse(name).success,
      );
    },
  );
});

describe('integer(): both bounds in the document, the server refuses past them', () => {
  const registry = new OpenAPIRegistry();
  registry.register(
    'Bounds',
    z.object({ open: integer(1), closed: integer(1, 10), later: integer(0).default(5) }),
  );
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'bounds', version: '1' },
  });
  const properties = (
    document.components?.schemas?.Bounds as { properties: Record<string, unknown> }
  ).properties;

  it('states minimum and maximum (the largest safe integer when the field has none)', () => {
    expect(properties).toMatchObject({
      open: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      closed: { type: 'integer', minimum: 1, maximum: 10 },
      later: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 5 },
    });
  });

  it('accepts the bounds and refuses what is past them', () => {
    expect(integer(1).safeParse(Number.MAX_SAFE_INTEGER).success).toBe(true);
    expect(integer(1).safeParse(Number.MAX_SAFE_INTEGER + 1).success).toBe(false);
    expect(integer(1).safeParse(2 ** 60).success).toBe(false);
    expect(integer(1).safeParse(0).success).toBe(false);
    expect(integer(1, 10).safeParse(10).success).toBe(true);
    expect(integer(1, 10).safeParse(11).success).toBe(false);
    expect(integer(1, 10).safeParse(1.5).success).toBe(false);
  });
});
