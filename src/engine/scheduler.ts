/**
 * Plans each salon's next step and runs it: writing (the next turn when due, or the closing synthesis) and
 * delivering (what the salon owes its thread). Both run side by side: the next turn is written while the last one
 * is still being posted (the outbox keeps the posts in order), so a salon with no delay moves at the models' pace,
 * not the models' plus Discord's. A step that fails for a reason that may pass (a store hiccup, Discord down) is
 * tried again after a backoff: one failure path for both.
 */
import type { Logger } from 'pino';
import { nextTurn } from '../domain/salon.js';
import type { Clock } from './ports.js';
import { isLetGo, later, type Room, type Step } from './room.js';

export interface SchedulerDeps {
  clock: Clock;
  log: Logger;
  /** The wait before a failed step's next try, by failures in a row. */
  backoffMs(attempt: number): number;
  /** Writes the salon's next turn or its synthesis, if due. */
  write(room: Room): Promise<void>;
  /** Runs the salon's delivery loop; resolves with the wait before it must run again, if any. */
  deliver(room: Room): Promise<number | undefined>;
  /** A step not due yet: true when it is left to a later wake-up rather than a timer here (see Holding.defer). */
  defer(room: Room, step: Step, at: number): boolean;
  stopped(): boolean;
}

type StepKind = 'write' | 'deliver';

const FAILED: Record<StepKind, string> = {
  write: 'salon step failed; will try again',
  deliver: 'delivery failed; will try again',
};

export class Scheduler {
  /** Runs in flight, including those of salons just let go: shutdown waits for their last save. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: SchedulerDeps) {}

  /** Works out what the salon needs next and arranges it. */
  scheduleNext(room: Room): void {
    if (!this.deps.stopped() && !room.disposed) this.plan(room);
    room.checkIdle();
  }

  /** Resolves once every run in flight has settled. */
  async whenSettled(): Promise<void> {
    // Settled, not resolved: one run failing at shutdown must not cut short the wait for the others.
    await Promise.allSettled(this.running);
  }

  private plan(room: Room): void {
    const salon = room.record;
    // Delivering: one loop per salon; a backoff after a failure is waited out.
    if (salon.outbox.length > 0 && !room.undeliverable && room.deliver.idle && room.deliver.dueAt === undefined) {
      this.schedule(room, 'deliver', 0);
    }
    // Writing: a turn when due, or the closing synthesis; one at a time.
    room.write.cancel();
    if (room.writing) return;
    let wait: number;
    if (salon.synthesis?.status === 'pending') wait = 0;
    else if (salon.status === 'running' && salon.nextTurnAt !== undefined && nextTurn(salon)) wait = salon.nextTurnAt - this.deps.clock.now();
    else return;
    this.schedule(room, 'write', wait);
  }

  private schedule(room: Room, kind: StepKind, wait: number): void {
    const step = room[kind];
    if (wait > 0 && this.deps.defer(room, step, this.deps.clock.now() + wait)) return;
    step.dueAt = undefined;
    // One timer per step: a retry arranged while another was pending replaces it, never orphans it.
    step.timer?.cancel();
    step.timer = later(wait, () => {
      step.timer = undefined;
      // A run still in flight plans the next one when it ends.
      if (step.running || room.disposed || this.deps.stopped()) return room.checkIdle();
      const run = kind === 'write' ? this.deps.write(room).then(() => undefined) : this.deps.deliver(room);
      step.running = run;
      this.running.add(run);
      void run
        .finally(() => {
          step.running = undefined;
          this.running.delete(run);
        })
        .then(
          (retryIn) => {
            if (retryIn === undefined) step.failures = 0;
            else if (!this.deps.stopped()) this.schedule(room, kind, retryIn);
            this.scheduleNext(room);
          },
          (err: unknown) => {
            step.failures += 1;
            const retryIn = this.deps.backoffMs(step.failures);
            if (!isLetGo(err)) this.deps.log.error({ salonId: room.id, err, retryInMs: retryIn }, FAILED[kind]);
            if (!this.deps.stopped() && !room.disposed) this.schedule(room, kind, retryIn);
            room.checkIdle();
          },
        );
    });
  }
}
