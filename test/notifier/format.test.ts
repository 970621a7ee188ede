import { describe, expect, it } from 'vitest';
import {
  dingtalkMarkdown,
  feishuMarkdown,
  formatAlert,
  formatNumber,
  plainText,
  slackMrkdwn,
  truncate,
  utf8Bytes,
  wecomMarkdown,
} from '../../activities/notifier/format';
import { alertWithRules, failingRule, makeAlert } from './fixtures';

const characters = (text: string): number => text.length;

describe('formatAlert', () => {
  it('writes the evidence in plain text: title, versions, machines, rules, action, links', () => {
    const text = formatAlert(makeAlert(), {
      markup: plainText,
      limit: 10_000,
      title: true,
      links: true,
    });
    expect(text).toBe(
      [
        'shop v2.0.0 rolled back: error-rate 0.3123 > 0.05',
        'App: shop  Version: v2.0.0 → v1.9.0',
        'Deployment: dep-42',
        'Machines (2): web-1, web-2',
        'Failing rules (2):',
        '- error-rate: 0.3123 > 0.05',
        '  sum(rate(http_requests_total{app="shop",version="v2.0.0",code=~"5.."}[1m])) / sum(rate(http_requests_total{app="shop",version="v2.0.0"}[1m]))',
        '- latency-p99: 1.235 >= 0.8',
        '  histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="shop"}[1m])))',
        'Action: rolled back 2 machines to v1.9.0',
        'At: 2025-01-02T03:04:05.000Z',
        'Links: Deployment: http://127.0.0.1:3000/deployments/dep-42 · Grafana: https://grafana.example.com/d/shop?var-version=v2.0.0',
      ].join('\n'),
    );
  });

  it('code-formats the PromQL and leaves the title and links out unless asked', () => {
    const text = formatAlert(makeAlert(), { markup: wecomMarkdown, limit: 4096 });
    expect(text).not.toContain('rolled back: error-rate');
    expect(text).not.toContain('grafana.example.com');
    expect(text).toContain(
      '- **error-rate**: <font color="warning">0.3123</font> > 0.05\n  `sum(rate(',
    );
  });

  it('escapes Slack control characters everywhere, code and link labels included', () => {
    const text = formatAlert(
      makeAlert({
        app: 'a&b',
        failing: [
          failingRule({ rule: 'r<1>', promql: 'up < 1', operator: '<', threshold: 1, value: 0 }),
        ],
        links: [{ label: 'P&L | board', url: 'https://x.example.com/a?b=1|2' }],
      }),
      { markup: slackMrkdwn, limit: 3000, measure: characters, links: true },
    );
    expect(text).toContain('*App:* a&amp;b');
    expect(text).toContain('• *r&lt;1&gt;*: 0 &lt; 1\n  `up &lt; 1`');
    expect(text).toContain('<https://x.example.com/a?b=1%7C2|P&amp;L ¦ board>');
    expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });

  it("escapes Feishu's tag characters in free text but not inside code", () => {
    const text = formatAlert(
      makeAlert({ failing: [failingRule({ rule: '<at id=all>', promql: 'up < 1' })] }),
      { markup: feishuMarkdown, limit: 10_000 },
    );
    expect(text).toContain("**&lt;at id=all&gt;**: <font color='red'>0.3123</font> &gt; 0.05");
    expect(text).toContain('`up < 1`');
  });

  it('gives DingTalk a paragraph per line and a heading', () => {
    const text = formatAlert(makeAlert(), { markup: dingtalkMarkdown, limit: 10_000, title: true });
    expect(text.startsWith('### shop v2.0.0 rolled back')).toBe(true);
    expect(text).toContain('**Deployment:** dep-42\n\n**Machines (2):** web-1, web-2');
  });

  it('says which rules could not be judged, and shows relative thresholds with the baseline', () => {
    const text = formatAlert(
      makeAlert({
        failing: [
          failingRule({
            verdict: 'no_data',
            value: undefined,
            message: 'no series for shop v2.0.0',
          }),
          failingRule({ verdict: 'error', value: undefined, message: 'query timed out' }),
          failingRule({
            rule: 'errors-vs-baseline',
            value: 0.031,
            baseline: 0.01,
            threshold: 3,
            baseline_promql: 'sum(rate(errors{version="v1.9.0"}[1m]))',
          }),
        ],
      }),
      { markup: plainText, limit: 10_000 },
    );
    expect(text).toContain('- error-rate: no data (no series for shop v2.0.0)');
    expect(text).toContain('- error-rate: error (query timed out)');
    expect(text).toContain(
      '- errors-vs-baseline: 0.031 > 3 × baseline 0.01\n  sum(rate(http_requests_total',
    );
    expect(text).toContain('\n  baseline sum(rate(errors{version="v1.9.0"}[1m]))');
  });

  it('names ten machines and counts the rest', () => {
    const machines = Array.from({ length: 25 }, (_, index) => `m${index + 1}`);
    const text = formatAlert(makeAlert({ machines }), { markup: plainText, limit: 10_000 });
    expect(text).toContain('Machines (25): m1, m2, m3, m4, m5, m6, m7, m8, m9, m10 and 15 more');
  });

  it('cuts the rules that do not fit and counts them', () => {
    const text = formatAlert(alertWithRules(100), {
      markup: wecomMarkdown,
      limit: 4096,
      title: true,
      links: true,
    });
    expect(utf8Bytes(text)).toBeLessThanOrEqual(4096);
    const shown = text.match(/^- \*\*rule-\d+\*\*/gm)?.length ?? 0;
    expect(shown).toBeGreaterThan(5);
    expect(text).toContain(`- and ${100 - shown} more`);
    // The rules after the cut and before it are whole; the action and links still close it.
    expect(text).toContain(`**rule-${shown}**`);
    expect(text).not.toContain(`**rule-${shown + 1}**`);
    expect(text).toContain('**Action:** rolled back 2 machines to v1.9.0');
    expect(text).toContain('[Grafana](https://grafana.example.com/d/shop?var-version=v2.0.0)');
  });

  it('clips a giant query so that it cannot crowd out the others', () => {
    const promql = `up{instance=~"${Array.from({ length: 500 }, (_, index) => `10.0.0.${index}:8080`).join('|')}"}`;
    const text = formatAlert(makeAlert({ failing: [failingRule({ promql }), failingRule()] }), {
      markup: wecomMarkdown,
      limit: 4096,
    });
    expect(utf8Bytes(text)).toBeLessThanOrEqual(4096);
    expect(text).toContain('…`');
    expect(text.match(/\*\*error-rate\*\*/g)).toHaveLength(2);
  });

  it('cuts a head that alone is too long, still within the limit', () => {
    const text = formatAlert(makeAlert({ title: '回滚'.repeat(3000) }), {
      markup: wecomMarkdown,
      limit: 4096,
      title: true,
    });
    expect(utf8Bytes(text)).toBeLessThanOrEqual(4096);
    expect(text.endsWith('…')).toBe(true);
  });

  it('fences code that holds backticks', () => {
    const text = formatAlert(makeAlert({ failing: [failingRule({ promql: 'a`b' })] }), {
      markup: wecomMarkdown,
      limit: 4096,
    });
    expect(text).toContain('``a`b``');
  });
});

describe('formatNumber', () => {
  it.each([
    [0.3123456, '0.3123'],
    [1234.5678, '1235'],
    [0.05, '0.05'],
    [3, '3'],
    [1e-7, '1e-7'],
    [Number.NaN, 'NaN'],
  ])('%s → %s', (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });
});

describe('truncate', () => {
  it('never splits a character and marks the cut', () => {
    const cut = truncate('😀'.repeat(10), 9, utf8Bytes);
    expect(cut).toBe('😀…');
    expect(utf8Bytes(cut)).toBeLessThanOrEqual(9);
  });
});

describe('formatAlert for a first release', () => {
  it('says there was no previous version instead of an arrow to nothing', () => {
    const text = formatAlert(makeAlert({ previous_version: '' }), {
      markup: plainText,
      limit: 1000,
    });
    expect(text).toContain('App: shop  Version: v2.0.0 (first release)');
  });
});

describe('formatAlert for a machine alert (the health watcher: no deployment)', () => {
  const machineAlert = makeAlert({
    kind: 'machine_down',
    title: 'shop/web-1 (v2.0.0) is down',
    deployment_id: '',
    previous_version: '',
    machines: ['web-1'],
    failing: [],
    action: 'none: relguard watches it and says when it recovers',
    links: [],
  });

  it.each(['machine_down', 'machine_recovered'] as const)(
    '%s shows the app and the version it runs, and no Deployment line',
    (kind) => {
      for (const markup of [
        plainText,
        slackMrkdwn,
        feishuMarkdown,
        dingtalkMarkdown,
        wecomMarkdown,
      ]) {
        const text = formatAlert({ ...machineAlert, kind }, { markup, limit: 4096, title: true });
        expect(text).not.toContain('Deployment');
        expect(text).not.toContain('first release');
        expect(text).toContain('v2.0.0');
        expect(text).toContain('web-1');
      }
      const plain = formatAlert({ ...machineAlert, kind }, { markup: plainText, limit: 4096 });
      expect(plain.split('\n')).toEqual([
        'App: shop  Version: v2.0.0',
        'Machines (1): web-1',
        'Action: none: relguard watches it and says when it recovers',
        'At: 2025-01-02T03:04:05.000Z',
      ]);
    },
  );

  it('says "none" for a machine that runs no version', () => {
    const text = formatAlert(makeAlert({ ...machineAlert, version: '' }), {
      markup: plainText,
      limit: 4096,
    });
    expect(text).toContain('App: shop  Version: none');
    expect(text).not.toContain('Deployment');
  });

  it('still names the deployment and both versions of a release alert', () => {
    const text = formatAlert(makeAlert(), { markup: plainText, limit: 4096 });
    expect(text).toContain('App: shop  Version: v2.0.0 → v1.9.0\nDeployment: dep-42\n');
  });
});
