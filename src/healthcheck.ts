/**
 * The health check command Docker's HEALTHCHECK runs (`node dist/src/healthcheck.js`): exit 0 when the heartbeat
 * file written by heartbeat.ts is fresh (the gateway was ready recently), 1 otherwise.
 */
import { readFileSync } from 'node:fs';

const file = process.env.SALON_HEALTH_FILE ?? '/tmp/salon-health';
const maxAgeMs = Number(process.env.SALON_HEALTH_MAX_AGE_MS ?? 120_000);
try {
  const age = Date.now() - Number(readFileSync(file, 'utf8'));
  if (!(age >= 0 && age <= maxAgeMs)) {
    console.error(`unhealthy: the gateway has not been ready for ${Math.round(age / 1000)} s`);
    process.exit(1);
  }
} catch {
  console.error(`unhealthy: no heartbeat file at ${file} (not connected yet?)`);
  process.exit(1);
}
