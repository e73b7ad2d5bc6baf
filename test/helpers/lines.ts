import type { Readable } from 'node:stream';

/** Calls `onLines` with each batch of complete, non-empty lines a process writes (its log lines, one JSON each). */
export function readLines(stream: Readable, onLines: (lines: string[]) => void): void {
  let buffer = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    onLines(parts.filter(Boolean));
  });
}
