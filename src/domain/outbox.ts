/**
 * What a salon owes its thread and what the thread shows of it: posts waiting in the outbox, the parts already out,
 * the messages a streaming turn is shown in. Kept with the record, saved with the change that made them.
 */
import type { Post, SalonRecord } from './salon.js';

export function markDelivered(salon: SalonRecord, key: string): void {
  const post = salon.outbox.find((p) => p.key === key);
  if (post?.kind === 'turn') {
    const turn = salon.turns[post.turnIndex];
    // A new turn object, never an edit in place: the engine shares unchanged turns between versions.
    if (turn) salon.turns[post.turnIndex] = { ...turn, messageIds: post.messageIds };
  }
  salon.outbox = salon.outbox.filter((p) => p.key !== key);
}

export function recordPostedPart(salon: SalonRecord, key: string, part: number, messageId: string): void {
  const post = salon.outbox.find((p) => p.key === key);
  if (post) post.messageIds[part] = messageId;
}

/**
 * Remembers the messages showing a turn while it streams, so a restart edits them instead of posting again.
 * Ids that arrive late (a draft post answered after the turn was committed, delivered or dropped) are never
 * lost: they join the turn's post while it is owed, and are otherwise retracted, so no half-written message
 * stays in the thread.
 */
export function recordDraft(salon: SalonRecord, turnIndex: number, messageIds: string[]): void {
  if (salon.status !== 'closed' && salon.turns.length === turnIndex) {
    salon.draft = { turnIndex, messageIds: [...messageIds] };
    return;
  }
  const known = new Set(salon.draft?.turnIndex === turnIndex ? salon.draft.messageIds : []);
  for (const post of salon.outbox) {
    if ((post.kind === 'turn' || post.kind === 'retract') && post.turnIndex === turnIndex) {
      for (const id of [...(post.kind === 'turn' ? (post.draftIds ?? []) : post.draftIds), ...post.messageIds]) known.add(id);
    }
  }
  for (const id of salon.turns[turnIndex]?.messageIds ?? []) known.add(id);
  const late = messageIds.filter((id) => !known.has(id));
  if (late.length === 0) return;
  const owed = salon.outbox.find((p): p is Extract<Post, { kind: 'turn' }> => p.kind === 'turn' && p.turnIndex === turnIndex);
  if (owed && salon.status !== 'closed') {
    // Still to be delivered: the delivery finishes these messages in place (or deletes the ones it does not need).
    owed.draftIds = [...(owed.draftIds ?? []), ...late];
    return;
  }
  retractDraft(salon, turnIndex, late);
}

/** Messages of a turn that will never be finished are deleted, so the thread matches the archive. */
export function retractDraft(salon: SalonRecord, turnIndex: number, draftIds: string[]): void {
  const n = salon.outbox.filter((p) => p.kind === 'retract' && p.turnIndex === turnIndex).length;
  salon.outbox.push({ key: `${salon.id}:retract:${turnIndex}${n ? `:${n}` : ''}`, kind: 'retract', turnIndex, draftIds, messageIds: [] });
}

/** The transcript as a file, then the thread archived: the last post a salon owes. */
export function pushArchive(salon: SalonRecord): void {
  salon.outbox.push({ key: `${salon.id}:archive`, kind: 'archive', messageIds: [] });
}
