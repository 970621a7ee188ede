import { describe, expect, it } from 'vitest';
import { startTogether } from '../support/start-together';

describe('startTogether', () => {
  it('gives what every part started, in order, like Promise.all', async () => {
    const [one, two] = await startTogether([Promise.resolve(1), Promise.resolve('two')]);
    expect([one, two]).toEqual([1, 'two']);
  });

  it('waits for the slow parts, stops those that started, and throws the failure', async () => {
    const stopped: string[] = [];
    let slowDone = false;
    const server = { stop: () => Promise.resolve(void stopped.push('server')) };
    const store = { close: () => Promise.resolve(void stopped.push('store')) };
    const slowEnvironment = new Promise<{ teardown(): Promise<void> }>((resolve) =>
      setTimeout(() => {
        slowDone = true;
        resolve({ teardown: () => Promise.resolve(void stopped.push('environment')) });
      }, 50),
    );
    await expect(
      startTogether([
        Promise.resolve(server),
        Promise.reject(new Error('no FerretDB')),
        Promise.resolve(store),
        slowEnvironment,
        Promise.resolve('/tmp/a-folder'),
      ]),
    ).rejects.toThrow('no FerretDB');
    expect(slowDone).toBe(true);
    expect(stopped).toEqual(['server', 'store', 'environment']);
  });
});
