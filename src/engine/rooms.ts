/**
 * The change path: every change to a salon goes through one queue per salon, so a pause, a question or a close
 * that arrives while a model is writing is applied before or after the turn's commit, never in the middle of it.
 *
 * A change is applied to a copy (a refused change leaves the record untouched), then saved on the condition that
 * nobody saved another version meanwhile. What to do when somebody did (let the salon go, or read it again and go
 * on) is the holding's call: see holding.ts and leased-driver.ts.
 */
import type { Logger } from 'pino';
import { SalonError } from '../domain/errors.js';
import type { SalonRecord } from '../domain/salon.js';
import { FenceDownError } from './fence.js';
import { KeyedQueue } from './keyed-queue.js';
import { StaleRecordError, type Clock, type SalonStore } from './ports.js';
import { copyForChange, changedTurns } from './record-copy.js';
import { Room, RoomGoneError } from './room.js';

export type Change = (draft: SalonRecord, now: number) => void;

/**
 * What a change is made to. A salon id: a command, from wherever the salon is driven (the record in memory if it
 * is held here, else the store's). A room: the salon's own work (a turn, a delivery, a lease renewal), only while
 * the salon is still held in that very room; a step that outlived its room must not fall back on reading the
 * store, as a command would, and act on a salon someone else now drives.
 */
export type ChangeTarget = Room | string;

/** Saves a change may retry when another process changed the salon meanwhile (a command racing a turn). */
export const MAX_SAVE_ATTEMPTS = 10;

export interface RoomsDeps {
  store: SalonStore;
  clock: Clock;
  log: Logger;
  /** A save found the salon changed elsewhere: whether `room` may go on (it then holds the fresh record) or was let go. */
  stale(room: Room, err: StaleRecordError): Promise<boolean>;
  /** After every saved change; `room` is the salon's room here, if it has one. */
  saved(salon: SalonRecord, room: Room | undefined): void;
}

export class Rooms {
  /** One queue per salon (and one for admissions): changes to a salon run one at a time, in arrival order. */
  readonly queue = new KeyedQueue();
  /** Salons held in memory: those this process may take turns for or that still owe a post. */
  private readonly held = new Map<string, Room>();

  constructor(private readonly deps: RoomsDeps) {}

  get(id: string): Room | undefined {
    return this.held.get(id);
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  hold(room: Room): void {
    this.held.set(room.id, room);
  }

  all(): IterableIterator<Room> {
    return this.held.values();
  }

  /** Runs `task` in the salon's queue, after every change queued before it. */
  exclusive<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.queue.run(id, task);
  }

  /** Applies one change in the salon's queue, after every change queued before it, and saves it. */
  changeQueued(target: ChangeTarget, apply: Change): Promise<SalonRecord> {
    return this.exclusive(idOf(target), () => this.changeHeld(target, apply));
  }

  /** Applies one change and saves it, for a caller that already holds the salon's queue (inside `exclusive`). */
  changeHeld(target: ChangeTarget, apply: Change): Promise<SalonRecord> {
    if (typeof target !== 'string' && (target.disposed || this.held.get(target.id) !== target)) {
      return Promise.reject(new RoomGoneError(target.id));
    }
    return this.save(idOf(target), apply);
  }

  /** Drops a room that has nothing more to do here, quietly. */
  forget(room: Room): void {
    // Out of the map first: a lease fence lowered by dispose() must not read as a lease lost while held.
    if (this.held.get(room.id) === room) this.held.delete(room.id);
    room.dispose();
  }

  /**
   * Lets a salon go: another process has changed it since this one read it (it took the salon over, or a command was
   * taken elsewhere), or this one's lease is over. Whatever this process still had in hand for it is dropped unsaved
   * and unposted; the salon goes on where it is now driven.
   */
  release(id: string, why: string): void {
    this.deps.log.child({ salonId: id }).warn({ why }, 'salon changed elsewhere or lease over; letting it go');
    const room = this.held.get(id);
    if (room) this.forget(room);
  }

  private async save(id: string, apply: Change): Promise<SalonRecord> {
    const { store, clock } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const room = this.held.get(id);
      const current = room?.record ?? (await store.get(id));
      if (!current) throw new SalonError({ code: 'no_salon' });
      const draft = copyForChange(current);
      apply(draft, clock.now());
      draft.version = current.version + 1;
      try {
        room?.fence.check();
        await store.save(draft, { expected: current.version, turns: changedTurns(current, draft) });
      } catch (err) {
        if (err instanceof FenceDownError) {
          this.release(id, 'lease over');
          throw err;
        }
        if (!(err instanceof StaleRecordError)) throw err;
        if (room && !(await this.deps.stale(room, err))) throw err;
        if (attempt >= MAX_SAVE_ATTEMPTS) throw err;
        continue;
      }
      if (room) room.record = draft;
      this.deps.saved(draft, room);
      return draft;
    }
  }
}

/** Why a stale save let the salon go, for the log. */
export function staleReason(err: StaleRecordError): string {
  return `version ${err.found ?? '(none)'} found, ${err.expected ?? '(none)'} expected`;
}

function idOf(target: ChangeTarget): string {
  return typeof target === 'string' ? target : target.id;
}
