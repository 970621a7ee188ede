import path from 'node:path';
import {
  readStackToken,
  stackApiUrl,
  stackHome,
  stackTemporalUiUrl,
  stackTokenFile,
} from './stack';
import { runDemoStory } from './story';

/**
 * `./temporal-dev.sh demo`, once the stack is up: runs the story against it and exits 0 when
 * v1.1.0 was rolled back, the report names a suspect and the alerts arrived at the demo's own
 * channel; 1 otherwise, naming each thing that went wrong. An entry point like api/main.ts, so
 * it reads the stack's settings itself: the ones temporal-dev.sh uses.
 */
// Where the demo listens for its alerts (temporal-dev.sh passes DEMO_ALERT_PORT, default 9199).
const alertPortText = process.env.RELGUARD_DEMO_ALERT_PORT ?? '9199';
// temporal-dev.sh's RELGUARD_SCRAPE_INTERVAL, e.g. `5s`.
const scrapeIntervalSeconds = Number.parseInt(process.env.RELGUARD_SCRAPE_INTERVAL ?? '5', 10) || 5;

async function main(): Promise<number> {
  const alertPort = Number(alertPortText);
  if (!Number.isInteger(alertPort) || alertPort < 1 || alertPort > 65535) {
    console.error(
      `demo: RELGUARD_DEMO_ALERT_PORT must be a port (1 to 65535), not "${alertPortText}"`,
    );
    return 1;
  }
  const token = await readStackToken();
  if (token === undefined) {
    console.error(
      `demo: no api token in ${stackTokenFile}: start the stack with ./temporal-dev.sh up`,
    );
    return 1;
  }
  const outcome = await runDemoStory({
    apiUrl: stackApiUrl,
    token,
    workDir: path.join(stackHome, 'demo'),
    temporalUiUrl: stackTemporalUiUrl,
    log: (line) => console.log(line),
    scrapeIntervalSeconds,
    alertPort,
  });
  const problems: string[] = [];
  if (outcome.secondRelease.status !== 'rolled_back') {
    problems.push(`v1.1.0 ended ${outcome.secondRelease.status}, not rolled back`);
  }
  const suspect = outcome.report?.suspect_changes[0];
  if (outcome.secondRelease.status === 'rolled_back' && suspect === undefined) {
    problems.push('v1.1.0 was rolled back but no report names a suspect');
  }
  problems.push(...outcome.missingAlerts.map((missing) => missing.message));
  if (suspect !== undefined) {
    console.log(`\nculprit: #${suspect.number ?? '?'} ${suspect.title} (score ${suspect.score})`);
  }
  for (const problem of problems) console.error(`demo: ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
