/** Server-Sent Events as the tests read them off a plain HTTP stream, the way a browser's EventSource splits them. */

/** One event's fields (a comment or a `retry:` block has no `event`). */
export interface SseEvent {
  event?: string;
  id?: string;
  data?: string;
  retry?: string;
}

/** Collects a stream's chunks and hands back each event once its blank line has arrived. */
export class SseReader {
  private buffer = '';

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      const event: SseEvent = {};
      for (const line of block.split('\n')) {
        const field = /^(event|id|data|retry): ?(.*)$/.exec(line);
        if (field) event[field[1] as keyof SseEvent] = field[2];
      }
      events.push(event);
    }
    return events;
  }
}
