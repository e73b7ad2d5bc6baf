/**
 * The bot's side of the container health check: a heartbeat file touched every few seconds while the process is
 * healthy (the gateway ready, the worker taking jobs), so its age says how long it has not been. healthcheck.ts,
 * run by Docker's HEALTHCHECK in a process of its own, reads it.
 */
import { writeFileSync } from 'node:fs';

export function startHeartbeat(healthy: () => boolean, file: string, everyMs = 15_000): () => void {
  const beat = () => {
    if (healthy()) {
      try {
        writeFileSync(file, String(Date.now()));
      } catch {
        // A read-only or missing directory only costs the health check; the bot carries on.
      }
    }
  };
  beat();
  const timer = setInterval(beat, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
