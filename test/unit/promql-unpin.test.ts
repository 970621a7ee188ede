import { describe, expect, it } from 'vitest';
import {
  averagedOver,
  errorsByRoute,
  routeErrorRatio,
  worstOver,
  type Scope,
} from '../../activities/analyzer/heuristic-queries';
import { unpinPromql } from '../../domain/promql-unpin';

describe('unpinPromql', () => {
  it.each([
    ['a range pinned to a time', 'rate(x[5m] @ 1700000000)', 'rate(x[5m])', ['@ 1700000000']],
    ['an instant selector', 'x{app="shop"} @ 1700000000.5', 'x{app="shop"}', ['@ 1700000000.5']],
    ['a pin to the start', 'sum(rate(x[1m] @ start()))', 'sum(rate(x[1m]))', ['@ start()']],
    ['a pin to the end, upper case', 'x @ END()', 'x', ['@ END()']],
    ['offset after the pin', 'rate(x[5m] @ 100 offset 1m)', 'rate(x[5m] offset 1m)', ['@ 100']],
    ['offset before the pin', 'x offset 1m @ end()', 'x offset 1m', ['@ end()']],
    [
      'a nested subquery',
      'max_over_time((sum(rate(x[1m] @ 100)) / sum(rate(y[1m] @ 100)))[600s:10s] @ 200)',
      'max_over_time((sum(rate(x[1m])) / sum(rate(y[1m])))[600s:10s])',
      ['@ 100', '@ 100', '@ 200'],
    ],
    [
      'a pin on a subquery inside a pinned subquery',
      'avg_over_time((max_over_time(x[1m])[5m:1m] @ start())[1h:5m] @ 1700000000)',
      'avg_over_time((max_over_time(x[1m])[5m:1m])[1h:5m])',
      ['@ start()', '@ 1700000000'],
    ],
    ['two pins in a row', 'x @ 1 @ 2', 'x', ['@ 1', '@ 2']],
    [
      'strings holding "@"',
      'count(x{route="/a @ 100",user=~".+@example.com"} @ 100)',
      'count(x{route="/a @ 100",user=~".+@example.com"})',
      ['@ 100'],
    ],
    [
      'a label_replace string argument',
      'label_replace(x @ 5, "at", "@ 5", "", "")',
      'label_replace(x, "at", "@ 5", "", "")',
      ['@ 5'],
    ],
    [
      'a comment holding "@"',
      'sum(rate(x[1m])) # pinned @ 100 elsewhere',
      'sum(rate(x[1m])) # pinned @ 100 elsewhere',
      [],
    ],
    [
      'no pin at all',
      'sum by (route) (rate(x[1m] offset 5m))',
      'sum by (route) (rate(x[1m] offset 5m))',
      [],
    ],
    ['a pin with spacing', 'rate(x[5m]   @   100  )', 'rate(x[5m]  )', ['@ 100']],
  ])('unpins %s', (_name, promql, unpinned, removed) => {
    expect(unpinPromql(promql)).toEqual({ promql: unpinned, removed });
  });

  it.each([
    ['an unclosed call', 'sum(rate(', /^the query does not parse as PromQL: it ends at character/],
    [
      'a stray word',
      'sum(x) @@ 100',
      /^the query does not parse as PromQL at character 9: unexpected "@"/,
    ],
    ['an empty query', ' ', /is empty/],
  ])('gives %s back as written, saying why', (_name, promql, error) => {
    const result = unpinPromql(promql);
    expect(result.promql).toBe(promql);
    expect(result.removed).toEqual([]);
    expect(result.error).toMatch(error);
  });

  it('unpins every query the heuristic analyzer writes', () => {
    const scope: Scope = {
      matchers: 'app="shop",version="v1.1.0"',
      span: { end: 1_700_000_600, range: 600 },
    };
    const queries = [
      errorsByRoute(scope),
      routeErrorRatio(scope, '/api/pay'),
      averagedOver('sum(rate(x[1m]))', scope.span),
      worstOver('sum(rate(x[1m]))', scope.span, true),
    ];
    for (const query of queries) {
      const result = unpinPromql(query);
      expect(result.error).toBeUndefined();
      expect(result.removed.length).toBeGreaterThan(0);
      expect(result.removed.every((modifier) => modifier === '@ 1700000600')).toBe(true);
      expect(result.promql).not.toContain('@');
      // Only the modifiers go: the rest is the query as written, piece for piece.
      expect(result.promql).toBe(query.split(' @ 1700000600').join(''));
    }
  });
});
