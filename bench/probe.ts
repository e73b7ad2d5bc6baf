/**
 * Preloaded into the bot process by the bench (`node --import <build>/bench/probe.js <build>/src/main.js`) when a
 * figure needs what only the process itself can see: event-loop delay and heap. It changes nothing in the bot; it
 * answers the bench over the IPC channel the bench opened, and does nothing when there is none.
 *
 * Event-loop delay uses perf_hooks.monitorEventLoopDelay at 10 ms resolution. Node records the interval between
 * its timer callbacks, which includes the resolution itself, so the bench subtracts 10 ms to get the delay.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';

export const ELD_RESOLUTION_MS = 10;

export interface ProbeRequest {
  id: number;
  cmd: 'stats' | 'reset' | 'snapshot';
  /** For `snapshot`: where to write the .heapsnapshot. */
  path?: string;
  /** Collect garbage first (the process must run with --expose-gc). */
  gc?: boolean;
}

export interface ProbeStats {
  id: number;
  eld: { count: number; p50: number; p99: number; max: number; mean: number };
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
}

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  histogram.enable();
  const ms = (ns: number) => ns / 1e6;
  process.on('message', (raw: unknown) => {
    const req = raw as ProbeRequest;
    if (!req || typeof req.id !== 'number') return;
    if (req.cmd === 'snapshot') {
      process.send!({ id: req.id, path: writeHeapSnapshot(req.path) });
      return;
    }
    if (req.cmd === 'reset') {
      histogram.reset();
      process.send!({ id: req.id });
      return;
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    if (req.gc && gc) {
      gc();
      gc();
    }
    const stats: ProbeStats = {
      id: req.id,
      eld: {
        count: histogram.count,
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
        mean: ms(histogram.mean),
      },
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
    };
    process.send!(stats);
  });
  process.channel?.unref();
}
