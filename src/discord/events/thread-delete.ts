/** A deleted thread ends its salon. */
import { Events } from 'discord.js';
import type { GatewayEvent } from './index.js';

export default {
  name: Events.ThreadDelete,
  execute({ gate, log }, thread) {
    gate.later((ctx) => void ctx.engine.threadGone(thread.id).catch((err: unknown) => log.error({ err }, 'handling a deleted thread failed')));
  },
} satisfies GatewayEvent<Events.ThreadDelete>;
