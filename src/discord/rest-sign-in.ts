/** A worker has no gateway connection: it learns who it is from REST alone. */
import { ClientApplication, ClientUser, Routes, type Client } from 'discord.js';

/**
 * Gives a client that never logs in to the gateway what READY would have: the token, the bot user and the
 * application. discord.js builds these objects only from READY, hence the constructors its typings keep private.
 */
export async function signInRestOnly(client: Client, token: string): Promise<void> {
  client.token = token;
  client.rest.setToken(token);
  const [user, application] = await Promise.all([client.rest.get(Routes.user()), client.rest.get(Routes.currentApplication())]);
  const build = <T>(ctor: unknown, data: unknown): T => Reflect.construct(ctor as new (...args: unknown[]) => T, [client, data]);
  client.user = build<ClientUser>(ClientUser, user);
  client.application = build<ClientApplication>(ClientApplication, application);
}
