/**
 * An in-memory stand-in for a Discord thread, for engine tests with no Discord code. Like Discord with
 * nonces, the "thread" keeps one message per post part key, so a re-delivery after a crash shows up as a
 * duplicate only if the engine really posted twice.
 */
import { EventEmitter } from 'node:events';
import { renderTranscript } from '../../src/domain/transcript.js';
import { noticeText } from '../../src/wording/index.js';
import type { Post, SalonRecord, Seat } from '../../src/domain/salon.js';
import { PublishError, type DeliveryProgress, type Pacing, type Publisher } from '../../src/engine/ports.js';

export interface ThreadMessage {
  id: string;
  key: string;
  kind: Post['kind'];
  speaker?: string;
  text: string;
}

/** Shared by publishers of several engine lifetimes, as a Discord thread outlives the bot process. */
export class MemoryThreads {
  readonly threads = new Map<string, ThreadMessage[]>();
  /** Every call to deliver, including repeats of a key. */
  readonly deliveries: string[] = [];
  readonly typing: { salonId: string; seat: Seat }[] = [];
  private nextId = 1;

  messages(salonId: string): ThreadMessage[] {
    return this.threads.get(salonId) ?? [];
  }

  /** Posts unless a message with this key exists, as Discord does for a repeated nonce. */
  post(salonId: string, message: Omit<ThreadMessage, 'id'>): string {
    const thread = this.threads.get(salonId) ?? [];
    this.threads.set(salonId, thread);
    const existing = thread.find((m) => m.key === message.key);
    if (existing) return existing.id;
    const id = String(this.nextId++);
    thread.push({ id, ...message });
    return id;
  }
}

export type FaultHook = (post: Post, phase: 'before' | 'after') => void;

export class MemoryPublisher extends EventEmitter implements Publisher {
  fault?: FaultHook;

  constructor(
    readonly threads = new MemoryThreads(),
    readonly pacing: Pacing = { draftIntervalMs: 1_500, typingIntervalMs: 8_000 },
  ) {
    super();
  }

  async deliver(salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void> {
    this.threads.deliveries.push(post.key);
    this.fault?.(post, 'before');
    let text: string;
    let speaker: string | undefined;
    switch (post.kind) {
      case 'header':
        text = `Salon: ${salon.topic}`;
        break;
      case 'turn': {
        const turn = salon.turns[post.turnIndex];
        if (!turn) throw new PublishError(`no turn ${post.turnIndex}`, true);
        text = turn.text;
        speaker = turn.name;
        break;
      }
      case 'notice':
        text = noticeText(post.notice);
        break;
      case 'synthesis':
        text = salon.synthesis?.status === 'done' ? salon.synthesis.text : '';
        speaker = salon.synthesis?.status === 'done' ? salon.synthesis.name : undefined;
        break;
      case 'retract':
        text = `retracted ${post.draftIds.length}`;
        break;
      case 'archive':
        text = renderTranscript(salon, new Date(salon.closedAt ?? salon.updatedAt));
        break;
    }
    const id = this.threads.post(salon.id, { key: `${post.key}#0`, kind: post.kind, speaker, text });
    this.fault?.(post, 'after');
    await progress.onPart(0, id);
    this.emit('delivered', salon.id, post);
  }

  async typing(salon: SalonRecord, seat: Seat): Promise<void> {
    this.threads.typing.push({ salonId: salon.id, seat });
  }
}
