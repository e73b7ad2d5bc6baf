/**
 * GET /health for orchestrators and load balancers: 200 with what the process is doing when healthy, 503 when not.
 * Every role serves it on SALON_HEALTH_PORT; the heartbeat file (heartbeat.ts) is the same check for Docker.
 */
import { createServer } from 'node:http';

export interface HealthReport {
  ok: boolean;
  role: string;
  [detail: string]: unknown;
}

export async function startHealthServer(port: number, check: () => HealthReport, host = '0.0.0.0'): Promise<{ close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://health.invalid').pathname !== '/health') {
      res.writeHead(404).end();
      return;
    }
    const report = check();
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}
