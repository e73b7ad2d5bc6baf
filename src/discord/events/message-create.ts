/** A plain message in a thread, which may be a question to a salon (see ../messages.ts). */
import { Events } from 'discord.js';
import { onThreadMessage } from '../messages.js';
import type { GatewayEvent } from './index.js';

export default {
  name: Events.MessageCreate,
  execute({ gate, log }, message) {
    // Only what onThreadMessage could take is kept while starting, so other chatter does not pile up.
    if (message.author.bot || !message.channel.isThread()) return;
    gate.later((ctx) => void onThreadMessage(message, ctx).catch((err: unknown) => log.error({ err }, 'handling a thread message failed')));
  },
} satisfies GatewayEvent<Events.MessageCreate>;
