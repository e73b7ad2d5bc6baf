import { Events } from 'discord.js';
import type { GatewayEvent } from './index.js';

export default {
  name: Events.ShardResume,
  execute({ log }) {
    log.info('gateway session resumed');
  },
} satisfies GatewayEvent<Events.ShardResume>;
