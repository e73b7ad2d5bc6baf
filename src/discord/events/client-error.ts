import { Events } from 'discord.js';
import type { GatewayEvent } from './index.js';

export default {
  name: Events.Error,
  execute({ log }, err) {
    log.error({ err }, 'discord client error');
  },
} satisfies GatewayEvent<Events.Error>;
