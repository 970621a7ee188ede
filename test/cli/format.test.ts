import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../cli/errors';
import {
  batchLabel,
  formatApiError,
  formatBytes,
  formatNumber,
  progressBar,
  releaseFrame,
  table,
} from '../../cli/format';
import { exitCodeOfRelease } from '../../cli/watch';
import { ApplicationInput } from '../../domain';
import { deploymentView } from './fake-api';

describe('output formatting', () => {
  it.each([
    [0, 4, '[....................]'],
    [1, 4, '[#####...............]'],
    [3, 3, '[####################]'],
    [0, 0, '[....................]'],
    [5, 3, '[####################]'],
  ])('draws %i of %i as %s', (done, total, bar) => {
    expect(progressBar(done, total)).toBe(bar);
  });

  it('names batch 0 the gray machine and counts the batches after it', () => {
    expect(batchLabel(0, 3)).toBe('gray machine');
    expect(batchLabel(2, 3)).toBe('batch 2 of 2');
    expect(batchLabel(1, 1)).toBe('batch 1 of 1');
  });

  it('pads table columns but not the last one', () => {
    expect(
      table(
        ['A', 'LONGER'],
        [
          ['wide cell', 'x'],
          ['b', ''],
        ],
      ),
    ).toEqual(['A          LONGER', 'wide cell  x', 'b']);
  });

  it('writes sizes and numbers for people', () => {
    expect([formatBytes(900), formatBytes(52_000), formatBytes(5 * 1024 * 1024)]).toEqual([
      '900 B',
      '50.8 KiB',
      '5.0 MiB',
    ]);
    expect([formatNumber(3), formatNumber(0.312345), formatNumber(1234.5678)]).toEqual([
      '3',
      '0.3123',
      '1235',
    ]);
  });

  it('shows a waiting release with its countdown and approval hint', () => {
    const view = deploymentView('verifying', ['deployed', 'pending'], {
      progress: {
        status: 'verifying',
        phase: 'waiting for approval',
        paused: false,
        awaitingApproval: true,
        promotable: false,
        batch: 0,
        batches: 2,
        machines: [
          { machine_id: 'm1', batch: 0, status: 'deployed' },
          { machine_id: 'm2', batch: 1, status: 'pending' },
        ],
        waitingUntil: 10_500,
      },
    });
    expect(releaseFrame(view, 1_000)).toEqual([
      'release d1: shop v1.1.0 (was v1.0.0)',
      'status   verifying (waiting for approval: relguard release approve)',
      'phase    waiting for approval (10s left)',
      'progress gray machine [##########..........] 1/2 machines on v1.1.0',
      '  m1 (batch 0) deployed',
      '  m2 (batch 1) pending',
      'workflow http://127.0.0.1:8233/namespaces/default/workflows/release-shop-d1',
    ]);
  });

  it("shows a machine's error and a rule without a value by its message", () => {
    const view = deploymentView('failed', ['failed', 'pending'], {
      node_deployments: [
        {
          machine_id: 'm1',
          batch: 0,
          status: 'failed',
          version: 'v1.1.0',
          error: 'health check timed out',
        },
        { machine_id: 'm2', batch: 1, status: 'pending', version: 'v1.1.0' },
      ],
      reason: 'm1 failed 3 attempts',
      rollback: {
        reason: 'm1 failed 3 attempts',
        requested_by: 'relguard',
        failing: [
          {
            rule: 'p99',
            metric: 'latency_p99',
            promql: 'histogram_quantile(0.99, x)',
            operator: '>',
            threshold: 1,
            verdict: 'no_data',
            message: 'no series for p99',
          },
        ],
      },
    });
    const frame = releaseFrame(view, 0);
    expect(frame).toContain('  m1 (batch 0) failed: health check timed out');
    expect(frame).toContain('- p99: no series for p99 [no_data]');
  });

  it('maps a release outcome to its exit code', () => {
    expect(
      (['succeeded', 'rolled_back', 'failed', 'cancelled', 'deploying', 'paused'] as const).map(
        exitCodeOfRelease,
      ),
    ).toEqual([0, 3, 4, 5, undefined, undefined]);
  });

  it('keeps an api message without field details as it is, with hints for 401 and 403', () => {
    expect(formatApiError(new ApiError(409, 'conflict', 'shop has a release in progress'))).toEqual(
      ['shop has a release in progress (409 conflict)'],
    );
    expect(formatApiError(new ApiError(403, 'forbidden', 'needs deployer'))).toEqual([
      'needs deployer (403 forbidden)',
      "the token's role does not allow this",
    ]);
    expect(formatApiError(new ApiError(0, 'unreachable', 'cannot reach the api'))).toEqual([
      'cannot reach the api',
    ]);
  });
});

describe('examples/app.yaml', () => {
  it('is an application the api accepts', async () => {
    const document: unknown = parse(await readFile('examples/app.yaml', 'utf8'));
    const result = ApplicationInput.safeParse(document);
    expect(result.error?.issues ?? []).toEqual([]);
    expect(result.data).toMatchObject({ name: 'mockserver', start_cmd: 'node main.js' });
  });
});
