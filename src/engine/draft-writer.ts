/**
 * Shows a turn while the model writes it: the first text goes out at once, later text as edits no more often
 * than every `intervalMs`, so one message is never edited faster than Discord's edit limits allow. Message ids
 * are handed to `save` as they appear, so a restart edits the same messages instead of posting the turn again.
 */
import type { Logger } from 'pino';
import type { SalonRecord } from '../domain/salon.js';
import type { Publisher } from './publisher.js';

export class DraftWriter {
  private text = '';
  private shown = '';
  private flushing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;
  private stopped = false;

  constructor(
    private readonly publisher: Required<Pick<Publisher, 'draft'>>,
    private readonly salon: SalonRecord,
    private readonly turnIndex: number,
    private messageIds: string[],
    private readonly save: (messageIds: string[]) => Promise<void>,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** Whether the thread may show this turn yet (everything owed before it is out). */
    private readonly ready: () => boolean = () => true,
  ) {}

  /** The model's text so far. */
  update(text: string): void {
    if (this.stopped) return;
    this.text = text;
    this.schedule();
  }

  /** Stops drafting: no further update starts. The final text is the turn's post. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Stops drafting and resolves once an update in flight has settled. */
  async finish(): Promise<void> {
    this.stop();
    await this.flushing;
  }

  private schedule(): void {
    if (this.flushing || this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    if (wait === 0) void this.flush();
    else this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
  }

  private flush(): Promise<void> {
    if (this.stopped || this.text === this.shown) return Promise.resolve();
    if (!this.ready()) {
      // Not yet: look again a little later.
      this.lastFlush = Date.now() - this.intervalMs + Math.min(this.intervalMs, 100);
      this.schedule();
      return Promise.resolve();
    }
    const text = this.text;
    this.lastFlush = Date.now();
    this.flushing = (async () => {
      try {
        const ids = await this.publisher.draft(this.salon, { turnIndex: this.turnIndex, text, messageIds: this.messageIds });
        this.shown = text;
        if (ids.length !== this.messageIds.length || ids.some((id, i) => id !== this.messageIds[i])) {
          // Saved first: until the record holds them, these messages are not this turn's to edit after a restart.
          await this.save(ids);
          this.messageIds = ids;
        }
      } catch (err) {
        // Drafts are a courtesy; the turn's own post carries the full text whatever happens here.
        this.log.debug({ err }, 'draft update failed');
      } finally {
        this.flushing = undefined;
        if (!this.stopped && this.text !== this.shown) this.schedule();
      }
    })();
    return this.flushing;
  }
}
