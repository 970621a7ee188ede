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
 * v1.1.0 was rolled back and the report names a suspect, 1 otherwise with why. An entry point
 * like api/main.ts, so it reads the stack's settings itself: the ones temporal-dev.sh uses.
 */
const alertPort = process.env.RELGUARD_DEMO_ALERT_PORT;
// temporal-dev.sh's RELGUARD_SCRAPE_INTERVAL, e.g. `5s`.
const scrapeIntervalSeconds = Number.parseInt(process.env.RELGUARD_SCRAPE_INTERVAL ?? '5', 10) || 5;

async function main(): Promise<number> {
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
    ...(alertPort === undefined ? {} : { alertPort: Number(alertPort), notifyChannel: 'demo' }),
  });
  if (outcome.secondRelease.status !== 'rolled_back') {
    console.error(`demo: v1.1.0 ended ${outcome.secondRelease.status}, not rolled back`);
    return 1;
  }
  const suspect = outcome.report?.suspect_changes[0];
  if (suspect === undefined) {
    console.error('demo: v1.1.0 was rolled back but no report names a suspect');
    return 1;
  }
  console.log(`\nculprit: #${suspect.number ?? '?'} ${suspect.title} (score ${suspect.score})`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
