import { describe, expect, it } from 'vitest';
import { releaseStaticDetails, releaseStaticSummary } from '../../api/release-metadata';
import type { Deployment } from '../../domain';
import { waitSummary } from '../../workflows/summaries';

const deployment = (changes: Partial<Deployment> = {}): Deployment => ({
  id: 'd1',
  app_name: 'shop',
  app_id: 'a1',
  status: 'pending',
  package_version: 'v1.1.0',
  previous_version: 'v1.0.0',
  gray_machine_id: 'm1',
  platform: 'ssh',
  node_deployments: ['m1', 'm2', 'm3'].map((machine_id, batch) => ({
    machine_id,
    batch,
    status: 'pending' as const,
    version: 'v1.1.0',
  })),
  actions: [{ action: 'start', by: 'github:octocat', at: 1 }],
  createdTime: 1,
  updatedTime: 1,
  ...changes,
});

describe('what the Temporal UI shows of a release', () => {
  it('summarises the release in one line: app, versions, who started it', () => {
    expect(releaseStaticSummary(deployment())).toBe('shop v1.1.0 (from v1.0.0) by github:octocat');
    expect(releaseStaticSummary(deployment({ previous_version: '', actions: [] }))).toBe(
      'shop v1.1.0 (first release) by unknown',
    );
  });

  it('details the batches, naming the first machines of a long one, and links only what is configured', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({
      machine_id: `m${i + 2}`,
      batch: 1,
      status: 'pending' as const,
      version: 'v1.1.0',
    }));
    const details = releaseStaticDetails(
      deployment({
        node_deployments: [
          { machine_id: 'm1', batch: 0, status: 'pending', version: 'v1.1.0' },
          ...many,
        ],
      }),
    );
    expect(details).toContain('  - batch 1: m2, m3, m4, m5, m6, m7, m8, m9 and 4 more');
    expect(details).not.toContain('](');
    const first = releaseStaticDetails(deployment({ previous_version: '' }), {
      consoleUrl: 'https://r.example/console',
    });
    expect(first).toContain('first release (nothing to roll back to: machines are stopped)');
    expect(first).toContain('[application page](https://r.example/console/apps/a1)');
    expect(first).not.toContain('/api/v1/');
  });

  it('names each wait of a release by what it waits after', () => {
    expect(waitSummary('batch-0', 60)).toBe('gray bake 60 s');
    expect(waitSummary('batch-2', 30)).toBe('bake after batch 2, 30 s');
    expect(waitSummary('verify', 120)).toBe('verify all machines, 120 s');
    expect(waitSummary('batch-0', 60, 42.4)).toBe('gray bake 60 s (42 s left after a pause)');
  });
});
