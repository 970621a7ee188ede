import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { culpritNumber, demoAppName, runDemoStory, type DemoOutcome } from '../../demo/story';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';

/**
 * `./temporal-dev.sh demo`'s story on a real stack: the same runDemoStory against the api
 * served for real, a real Prometheus and a webhook channel the story registers with the api
 * (the stack knows no channel) and listens on.
 */
let stack: ReleaseStack;
let prometheus: TestPrometheus;
let workDir: string;
const timeline: string[] = [];
const temporalUiUrl = 'http://127.0.0.1:8233';

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-demo-'));
  // 2 s, not the stack's 5 s, to keep the test short; the story sizes its windows from it.
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 2 });
  const alertPort = await freePort();
  stack = await startReleaseStack({
    prometheusUrl: prometheus.url,
    targetsDir: prometheus.targetsDir,
  });
  outcome = await runDemoStory({
    apiUrl: stack.apiUrl,
    token: stack.adminToken,
    workDir,
    temporalUiUrl,
    log: (line) => timeline.push(line),
    alertPort,
    scrapeIntervalSeconds: 2,
  });
}, 400_000);

let outcome: DemoOutcome;

afterAll(async () => {
  const apps = await stack?.testStore.store.applications.list();
  for (const app of apps ?? []) {
    for (const machine of app.machines) {
      await stack.activityDeps.deps.platforms.local.stop({ app, machine });
    }
  }
  await stack?.stop();
  await prometheus?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe('the demo story', () => {
  it('releases v1.0.0, then rolls v1.1.0 back, alerts, and names the culprit pull request', () => {
    const { firstRelease, secondRelease, report, culpritRank, alerts } = outcome;
    expect(firstRelease.status).toBe('succeeded');
    expect(secondRelease.status).toBe('rolled_back');
    expect(secondRelease.rollback?.requested_by).toBe('metric-guard');
    expect(secondRelease.rollback?.failing?.[0]).toMatchObject({
      rule: 'error rate above 10%',
      verdict: 'fail',
    });
    expect(alerts.map((alert) => alert.kind)).toEqual(['rolled_back', 'analysis_ready']);
    expect(outcome.missingAlerts).toEqual([]);
    expect(report).toMatchObject({
      app_name: demoAppName,
      version: 'v1.1.0',
      previous_version: 'v1.0.0',
      fault_class: 'errors',
    });
    expect(report?.suspect_changes[0]?.number).toBe(culpritNumber);
    expect(culpritRank).toBe(1);
  });

  it('narrates the timeline and says where to look', () => {
    const text = timeline.join('\n');
    expect(text).toMatch(/^\+\d+\.\ds v1\.1\.0 gray machine m1 deployed$/m);
    expect(text).toMatch(/^\+\d+\.\ds v1\.0\.0 succeeded$/m);
    expect(text).toMatch(
      /^\+\d+\.\ds the metric guard rolled v1\.1\.0 back: error rate above 10%/m,
    );
    expect(text).toMatch(
      /^\+\d+\.\ds alert channel demo: a webhook to http:\/\/127\.0\.0\.1:\d+\/alerts/m,
    );
    // Each alert with its links under it.
    expect(text).toMatch(/^\+\d+\.\ds alert rolled_back arrived: .*\n {4}\S.*: https?:\/\/\S+$/m);
    expect(text).toMatch(
      /^\+\d+\.\ds analysis \(heuristic\): fault class errors; culprit #103 Payments: call the new gateway directly by alice/m,
    );
    const { secondRelease } = outcome;
    const ui = `${temporalUiUrl}/namespaces/default/workflows`;
    expect(text).toContain(`${ui}/${secondRelease.workflow_id}`);
    expect(text).toContain(`${ui}/${secondRelease.workflow_id}-guard`);
    expect(text).toContain(`${ui}/analysis-${secondRelease.id}`);
    expect(text).toContain(
      `${stack.apiUrl}/api/v1/deployments/${secondRelease.id}/analysis?format=markdown`,
    );
    expect(text).toContain(`npm run -s relguard -- analysis show ${secondRelease.id} --markdown`);
  });
});
