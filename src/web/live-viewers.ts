/**
 * The open pages of shared salons, as Server-Sent Events streams. One watch per salon watched in this process,
 * however many pages show it: one feed subscription, one store read per finished turn, fanned out to every viewer.
 *
 * Each viewer remembers the last turn it was sent; every send goes through the watch's one queue, so a viewer gets
 * each turn once, in order, whether it came from the backlog on connect or from the feed. A turn's event carries
 * its id (`t<index>`), which the browser sends back as Last-Event-ID when it reconnects: the new stream starts after it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SalonRecord } from '../domain/salon.js';
import type { SalonStore } from '../engine/ports.js';
import type { LiveEvent, LiveFeed } from './live-feed.js';
import { renderDraftHtml, renderLiveParts, turnRenderer } from './render/page.js';

export interface Viewer {
  salonId: string;
  token: string;
  /** The last turn index the page shows (-1: none). */
  after: number;
  stream: ServerResponse;
  request: IncomingMessage;
}

interface Watching extends Viewer {
  /** The last turn index this viewer was sent. */
  sent: number;
  /** The salon version whose summary and closing parts this viewer was last sent (-1: none). */
  stateVersion: number;
  /** Its page has gone (or its stream was ended): nothing more is written to it. */
  closed: boolean;
}

/** How often a watch checks the store whatever the feed says: a lost feed message (or an unshare) shows within this. */
const RECHECK_MS = 5_000;
/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

class Watch {
  readonly viewers = new Set<Watching>();
  private queue: Promise<void> = Promise.resolve();
  /** The turn being written as last heard, with its event made once for every page. */
  private lastDraft?: { index: number; event: string };
  /** The page's other changing parts (ledger, progress, synthesis, archived line) as of the last read. */
  private state?: { version: number; event: string };
  private unsubscribe?: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private gone = false;

  constructor(
    readonly salonId: string,
    private readonly token: string,
    private readonly deps: { store: SalonStore; feed: LiveFeed; log: Logger; onEmpty: (watch: Watch) => void },
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.feed.subscribe(this.salonId, (event) => this.onEvent(event));
    // Read once subscribed: a draft published meanwhile has come through the subscription, and is the newer one.
    const draft = await this.deps.feed.lastDraft(this.salonId).catch((err: unknown) => {
      this.deps.log.warn({ err, salonId: this.salonId }, 'the last draft could not be read');
      return undefined;
    });
    if (draft && !this.lastDraft) this.onEvent(draft);
    this.timers.push(setInterval(() => this.enqueue(() => this.sync()), RECHECK_MS).unref());
    this.timers.push(setInterval(() => this.broadcast(': ping\n\n'), HEARTBEAT_MS).unref());
  }

  add(viewer: Viewer): void {
    const watching: Watching = { ...viewer, sent: viewer.after, stateVersion: -1, closed: false };
    this.viewers.add(watching);
    // A dropped page comes back within a second (browsers wait about three by default).
    this.write(watching, 'retry: 1000\n\n');
    const drop = () => this.remove(watching);
    viewer.request.on('close', drop);
    viewer.stream.on('error', drop);
    // The backlog: every turn after what the page shows, then the turn being written.
    this.enqueue(async () => {
      const salon = await this.sync();
      if (salon?.status === 'closed') {
        // Closed while the page was away: it has every turn now, and nothing more will come.
        this.write(watching, 'event: end\ndata: {}\n\n');
        watching.stream.end();
        this.remove(watching);
      } else if (this.lastDraft) this.sendDraft(watching, this.lastDraft);
    });
  }

  private onEvent(event: LiveEvent): void {
    switch (event.type) {
      case 'draft': {
        const html = renderDraftHtml(event.name, event.round, event.text, event.index);
        const draft = { index: event.index, event: `event: draft\ndata: ${JSON.stringify({ index: event.index, html })}\n\n` };
        this.lastDraft = draft;
        this.enqueue(() => {
          for (const viewer of this.viewers) this.sendDraft(viewer, draft);
          return Promise.resolve();
        });
        return;
      }
      case 'turn':
        this.enqueue(() => this.sync());
        return;
      case 'end':
        // A finished salon may still be extended: its pages keep following it. A closed one has nothing more to show.
        this.enqueue(async () => {
          if ((await this.sync())?.status === 'closed') this.close('event: end\ndata: {}\n\n');
        });
        return;
      case 'gone':
        this.enqueue(() => Promise.resolve(this.close('event: gone\ndata: {}\n\n')));
        return;
    }
  }

  private enqueue(task: () => Promise<unknown>): void {
    this.queue = this.queue
      .then(async () => {
        await task();
      })
      .catch((err: unknown) => this.deps.log.warn({ err, salonId: this.salonId }, 'live update failed'));
  }

  /** Reads the salon and sends each viewer the turns it has not had; a salon no longer shared ends every stream. */
  private async sync(): Promise<SalonRecord | undefined> {
    if (this.gone || this.viewers.size === 0) return undefined;
    let salon: SalonRecord | undefined;
    try {
      salon = await this.deps.store.findShared(this.token);
    } catch (err) {
      this.deps.log.warn({ err, salonId: this.salonId }, 'a shared salon could not be read for its live page');
      return undefined;
    }
    if (!salon) {
      this.close('event: gone\ndata: {}\n\n');
      return undefined;
    }
    if (this.lastDraft && this.lastDraft.index < salon.turns.length) this.lastDraft = undefined;
    // Each turn's event is made once, whatever the number of pages it goes to.
    const render = turnRenderer(salon);
    const events = new Map<number, string>();
    const eventOf = (i: number) => {
      let event = events.get(i);
      if (event === undefined) events.set(i, (event = `id: t${i}\nevent: turn\ndata: ${JSON.stringify({ index: i, html: render(i) })}\n\n`));
      return event;
    };
    if (this.state?.version !== salon.version) {
      const parts = renderLiveParts(salon, new Date());
      this.state = { version: salon.version, event: `event: state\ndata: ${JSON.stringify(parts)}\n\n` };
    }
    for (const viewer of this.viewers) {
      for (let i = viewer.sent + 1; i < salon.turns.length; i++) {
        this.write(viewer, eventOf(i));
        viewer.sent = i;
      }
      // After the turns, so a synthesis or the archived line never shows above a turn the page has yet to get.
      if (viewer.stateVersion !== this.state.version) {
        this.write(viewer, this.state.event);
        viewer.stateVersion = this.state.version;
      }
    }
    return salon;
  }

  private sendDraft(viewer: Watching, draft: { index: number; event: string }): void {
    if (draft.index > viewer.sent) this.write(viewer, draft.event);
  }

  /** Nothing more will come (unshared: `gone`; closed: `end`): every page is told, and every stream ends. */
  private close(last: string): void {
    this.gone = true;
    for (const viewer of [...this.viewers]) {
      this.write(viewer, last);
      viewer.stream.end();
      this.remove(viewer);
    }
  }

  private broadcast(text: string): void {
    for (const viewer of this.viewers) this.write(viewer, text);
  }

  private write(viewer: Watching, text: string): void {
    if (viewer.closed || viewer.stream.writableEnded) return;
    viewer.stream.write(text);
  }

  remove(viewer: Watching): void {
    viewer.closed = true;
    if (!this.viewers.delete(viewer)) return;
    if (this.viewers.size === 0) this.deps.onEmpty(this);
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribe?.();
    for (const viewer of this.viewers) {
      viewer.closed = true;
      viewer.stream.end();
    }
    this.viewers.clear();
  }
}

export class LiveViewers {
  private readonly watches = new Map<string, Promise<Watch>>();
  private readonly started = new Set<Watch>();

  constructor(private readonly deps: { store: SalonStore; feed: LiveFeed; log: Logger }) {}

  /** Streams the salon to a viewer from the turn after `viewer.after`; resolves once the backlog is queued. */
  async add(viewer: Viewer): Promise<void> {
    let watch = this.watches.get(viewer.token);
    if (!watch) {
      const created = new Watch(viewer.salonId, viewer.token, {
        ...this.deps,
        onEmpty: (w) => {
          this.watches.delete(viewer.token);
          this.started.delete(w);
          w.stop();
        },
      });
      watch = created.start().then(
        () => {
          this.started.add(created);
          return created;
        },
        (err: unknown) => {
          this.watches.delete(viewer.token);
          throw err;
        },
      );
      this.watches.set(viewer.token, watch);
    }
    (await watch).add(viewer);
  }

  /** Pages connected now, across every salon. */
  count(): number {
    let n = 0;
    for (const watch of this.started) n += watch.viewers.size;
    return n;
  }

  closeAll(): void {
    for (const watch of this.started) watch.stop();
    this.started.clear();
    this.watches.clear();
  }
}
