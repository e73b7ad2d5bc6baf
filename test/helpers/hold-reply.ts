import type { FakeOpenAI } from '../fakes/openai-server.js';

/**
 * Makes the model server answer `Turn <n>.` to every request, holding request number `index` until the returned
 * function is called: a turn in flight, frozen at a moment the test chooses.
 */
export function holdReply(server: FakeOpenAI, index: number, text = (n: number) => `Turn ${n}.`): () => void {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  server.setScript(async (req) => {
    if (req.index === index) await held;
    return { text: text(req.index) };
  });
  return release;
}
