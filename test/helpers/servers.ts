/**
 * Private database servers for tests that stop and start them: a redis-server and a PostgreSQL cluster of the
 * test's own, on free ports, so a restart never touches the machine's shared servers (other tests use those).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A private redis-server, ready when it says so. Persistent by default, with fsync on every write so SIGKILL loses
 * nothing; without, a restart starts empty (as the machine's own Redis, which keeps nothing on disk).
 */
export async function startRedis(port: number, dir: string, options: { persist?: boolean } = {}): Promise<ChildProcess> {
  const persistence = options.persist === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...persistence, '--save', ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    child.once('error', reject);
  });
  return child;
}

/** The machine's PostgreSQL binaries (Debian keeps them under /usr/lib/postgresql/<version>/bin). */
function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  return join('/usr/lib/postgresql', versions[0]!, 'bin', name);
}

/** Runs a PostgreSQL tool as the postgres user when this process is root (PostgreSQL refuses to run as root). */
function runPg(name: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', pgBin(name), ...args], { encoding: 'utf8' })
    : spawnSync(pgBin(name), args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr || result.stdout}`);
}

/** A private PostgreSQL cluster in `dir`, trust auth, database `test`; stop and start it as a restart would. */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(dir: string): Promise<PrivatePostgres> {
    if (process.getuid?.() === 0)
      chownSync(
        dir,
        Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout),
        Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout),
      );
    runPg('initdb', ['-D', join(dir, 'data'), '--auth=trust', '-U', 'postgres', '--no-sync']);
    const pg = new PrivatePostgres(dir, await freePort());
    pg.start();
    return pg;
  }

  /** Starts the server and waits until it takes connections. */
  start(): void {
    runPg('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  }

  /** Stops it at once, dropping every connection, as a crash or a hurried restart would. */
  stop(ifRunning = false): void {
    try {
      runPg('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch (err) {
      if (!ifRunning) throw err;
    }
  }
}

/** Drops a schema a test worked in, with everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
