/**
 * A TCP hop between a browser and a server, for cutting a page's connection the way a network does: every open
 * connection dropped at once, and new ones refused until let through again.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  /** Where to connect instead of the target, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Destroys every open connection; with `refuse`, new ones are cut at once until `allow()`. */
  drop(options?: { refuse?: boolean }): void;
  allow(): void;
  /** Connections made through it so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let refusing = false;
  let made = 0;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    made += 1;
    const upstream = connect({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    drop(options = {}) {
      refusing = options.refuse ?? false;
      for (const socket of open) socket.destroy();
    },
    allow() {
      refusing = false;
    },
    connections: () => made,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
