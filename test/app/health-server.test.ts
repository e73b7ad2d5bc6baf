import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthReport } from '../../src/health-server.js';
import { freePort } from '../helpers/servers.js';

describe('GET /health', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('answers 200 with the report while healthy, 503 when not, and 404 elsewhere', async () => {
    let report: HealthReport = { ok: true, role: 'worker', worker: true };
    const port = await freePort();
    ({ close } = await startHealthServer(port, () => report, '127.0.0.1'));
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);

    const healthy = await get('/health');
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ ok: true, role: 'worker', worker: true });

    report = { ok: false, role: 'gateway', gateway: 'Reconnecting', shards: [1] };
    const sick = await get('/health');
    expect(sick.status).toBe(503);
    expect(await sick.json()).toEqual({ ok: false, role: 'gateway', gateway: 'Reconnecting', shards: [1] });

    expect((await get('/metrics')).status).toBe(404);
  });
});
