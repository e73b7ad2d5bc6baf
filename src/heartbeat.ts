/**
 * The bot's side of the container health check: a heartbeat file touched every few seconds while the gateway is
 * ready, so its age says how long the bot has been unable to reach Discord. healthcheck.ts, run by Docker's
 * HEALTHCHECK in a process of its own, reads it.
 */
import { writeFileSync } from 'node:fs';
import { Status, type Client } from 'discord.js';

export function startHeartbeat(client: Client, file: string, everyMs = 15_000): () => void {
  const beat = () => {
    if (client.ws.status === Status.Ready) {
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
