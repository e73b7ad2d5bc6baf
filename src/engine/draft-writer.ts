/**
 * Shows a turn while the model writes it: the first text goes out at once, later text as edits no more often
 * than the publisher's pacing allows. Message ids are handed to `save` as they appear, so a restart edits the
 * same messages instead of posting the turn again.
 *
 * The writer owns the turn's messages until `settle()`: it stops updating, waits for the update in flight and
 * for its ids to be saved, and says whether a message may be out that nobody knows the id of (an update whose
 * answer was lost). Only then may the turn be committed, so its final post edits every message the draft made.
 */
import type { Logger } from 'pino';
import type { SalonRecord } from '../domain/salon.js';
import type { Clock, Publisher } from './ports.js';

export interface DraftWriterOptions {
  publisher: Required<Pick<Publisher, 'draft' | 'pacing'>>;
  /** The salon's record as it is now (the draft is shown against the thread as it stands, not as it was). */
  salon(): SalonRecord;
  turnIndex: number;
  /** The turn's draft messages the record already knows (an earlier attempt, or a process that died mid-stream). */
  messageIds: string[];
  /** A message of this turn may already be out without its id known: the first update looks for it. */
  maybePosted: boolean;
  /** Persists the ids showing the turn; awaited before they count as the turn's. */
  save(messageIds: string[]): Promise<void>;
  /** Whether the thread may show this turn yet (everything owed before it is out). */
  ready(): boolean;
  clock: Clock;
  log: Logger;
}

/** What the turn's final post must know about the messages that showed it while it streamed. */
export interface SettledDraft {
  messageIds: string[];
  /** An update failed with its outcome unknown: a message may be out that `messageIds` lacks. */
  maybePosted: boolean;
}

export class DraftWriter {
  private text = '';
  private shown = '';
  private messageIds: string[];
  private maybePosted: boolean;
  private flushing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastFlush = -Infinity;
  private stopped = false;

  constructor(private readonly options: DraftWriterOptions) {
    this.messageIds = [...options.messageIds];
    this.maybePosted = options.maybePosted;
  }

  /** The model's text so far. */
  update(text: string): void {
    if (this.stopped) return;
    this.text = text;
    this.schedule();
  }

  /** Stops drafting and resolves, once the update in flight and its save have settled, with the turn's messages. */
  async settle(): Promise<SettledDraft> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    return { messageIds: [...this.messageIds], maybePosted: this.maybePosted };
  }

  private schedule(): void {
    if (this.flushing || this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.options.publisher.pacing.draftIntervalMs - this.options.clock.now());
    if (wait === 0) void this.flush();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, wait);
  }

  private flush(): Promise<void> {
    if (this.stopped || this.text === this.shown) return Promise.resolve();
    const { publisher, turnIndex, log, clock } = this.options;
    if (!this.options.ready()) {
      // Not yet: look again a little later.
      this.lastFlush = clock.now() - publisher.pacing.draftIntervalMs + Math.min(publisher.pacing.draftIntervalMs, 100);
      this.schedule();
      return Promise.resolve();
    }
    const text = this.text;
    this.lastFlush = clock.now();
    this.flushing = (async () => {
      try {
        const ids = await publisher.draft(this.options.salon(), { turnIndex, text, messageIds: this.messageIds, maybePosted: this.maybePosted });
        this.shown = text;
        this.maybePosted = false;
        if (ids.length !== this.messageIds.length || ids.some((id, i) => id !== this.messageIds[i])) {
          // Saved first: until the record holds them, these messages are not this turn's to edit after a restart.
          await this.options.save(ids);
          this.messageIds = ids;
        }
      } catch (err) {
        // The update may have reached Discord with its answer lost: whoever posts next for this turn looks first.
        // Drafts are a courtesy; the turn's own post carries the full text whatever happens here.
        this.maybePosted = true;
        log.debug({ err }, 'draft update failed');
      } finally {
        this.flushing = undefined;
        if (!this.stopped && this.text !== this.shown) this.schedule();
      }
    })();
    return this.flushing;
  }
}
