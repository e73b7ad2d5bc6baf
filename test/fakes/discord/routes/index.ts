import type { Route } from '../router.js';
import { appRoutes } from './app.js';
import { channelRoutes } from './channels.js';
import { guildRoutes } from './guilds.js';
import { interactionRoutes } from './interactions.js';
import { messageRoutes } from './messages.js';
import { reactionRoutes } from './reactions.js';
import { webhookRoutes } from './webhooks.js';

/** Every REST route the fake serves; anything else is a 404 and a recorded violation. */
export const routes: readonly Route[] = [
  ...appRoutes,
  ...guildRoutes,
  ...channelRoutes,
  ...messageRoutes,
  ...reactionRoutes,
  ...webhookRoutes,
  ...interactionRoutes,
];
