import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * "kiosk": a tiny HTTP service written for the chart tests, unlike the mockserver, the ledger
 * and the orders service: it counts its answers as `kiosk_answers_total{code="…"}` (no
 * `status` label, no `http_requests_total`) and reports its slowest answer as the gauge
 * `kiosk_slowest_answer_seconds`. A failing kiosk answers every `failEvery`-th request 500 or
 * 503, alternately (so its 5xx come in two series, with gaps between them). It exports no app,
 * version or instance label: Prometheus' target labels say what it is.
 */
export interface Kiosk {
  url: string;
  /** host:port, as a Prometheus target. */
  target: string;
  answered(): number;
  close(): Promise<void>;
}

export async function startKiosk(options: { failEvery?: number } = {}): Promise<Kiosk> {
  const counts = new Map<string, number>();
  let requests = 0;
  let slowest = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      const lines = [
        '# TYPE kiosk_answers_total counter',
        ...[...counts].map(([code, count]) => `kiosk_answers_total{code="${code}"} ${count}`),
        '# TYPE kiosk_slowest_answer_seconds gauge',
        `kiosk_slowest_answer_seconds ${slowest}`,
        '',
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(lines.join('\n'));
      return;
    }
    const started = performance.now();
    requests += 1;
    const failing = options.failEvery !== undefined && requests % options.failEvery === 0;
    const code = failing ? (requests % (2 * options.failEvery!) === 0 ? 503 : 500) : 200;
    counts.set(String(code), (counts.get(String(code)) ?? 0) + 1);
    slowest = Math.max(slowest, (performance.now() - started) / 1000);
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(failing ? 'kiosk is out of order' : 'ticket');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    answered: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `kiosk`'s RED templates: errors grouped by code, rate not, to prove the charts do not care. */
export const kioskRedMetrics = {
  rate: 'sum(rate(kiosk_answers_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}[5s]))',
  errors:
    'sum by (code) (rate(kiosk_answers_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",code=~"5.."}[5s]))',
  duration:
    'max(kiosk_slowest_answer_seconds{app="{{app}}",version="{{version}}",instance=~"{{instances}}"})',
};

/** Requests to each url, `perSecond` each, until `signal` aborts. */
export async function driveKiosks(
  urls: readonly string[],
  perSecond: number,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await Promise.all(
      urls.map((url) =>
        fetch(`${url}/ticket`, { signal })
          .then((response) => response.arrayBuffer())
          .catch(() => undefined),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
}
