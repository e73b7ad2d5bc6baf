import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { GatewayClose, GatewayOp, Intent } from './constants.js';
import type { Core, Dispatcher, PerSession, SessionView } from './core.js';
import { guildCreatePayload, userPayload } from './serialize.js';
import { randomToken, shardOf } from './snowflake.js';
import type { DisconnectOptions, GatewaySessionInfo } from './types.js';

export const GATEWAY_PATH = '/gateway';
/** Dispatches kept per session for replay on RESUME. */
const HISTORY_LIMIT = 5_000;

interface Session extends SessionView {
  seq: number;
  socket: WebSocket | null;
  history: Array<{ s: number; frame: string }>;
  identifiedAt: number;
  resumes: number;
  resumable: boolean;
  /** From IDENTIFY; null means every guild (and DMs). */
  shard: [number, number] | null;
}

/**
 * The gateway WebSocket: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE,
 * RESUME with replay of missed dispatches, and per-session delivery that
 * respects intents and shards. Sessions outlive their sockets so a client can
 * resume. Two live sessions may hold the same shard (Discord allows it, e.g.
 * while a new process takes over): both receive its events.
 */
export class Gateway implements Dispatcher {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Map<string, Session>();

  constructor(
    private readonly core: Core,
    server: Server,
  ) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'http://fake.invalid').pathname;
      if (path !== GATEWAY_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
    });
  }

  sessions(): GatewaySessionInfo[] {
    return [...this.#sessions.values()].map((s) => ({
      sessionId: s.sessionId,
      intents: s.intents,
      connected: s.socket?.readyState === WebSocket.OPEN,
      identifiedAt: s.identifiedAt,
      resumes: s.resumes,
      seq: s.seq,
      resumable: s.resumable,
      shard: s.shard ? [...s.shard] : null,
    }));
  }

  reaches(guildId: string | null): boolean {
    return [...this.#sessions.values()].some((s) => (s.resumable || s.socket) && ownsGuild(s, guildId));
  }

  dispatch(event: string, data: unknown, perSession?: PerSession): void {
    const guildId = guildOf(event, data);
    for (const session of this.#sessions.values()) {
      if (!session.resumable && !session.socket) continue;
      if (!ownsGuild(session, guildId)) continue;
      const shaped = perSession ? perSession(session) : data;
      if (shaped === undefined || !receives(session, event, shaped)) continue;
      this.#send(session, event, shaped);
    }
  }

  /** Closes sockets to make clients reconnect (resume) or start over. */
  disconnect({ resumable, sessionId }: DisconnectOptions): void {
    for (const session of this.#sessions.values()) {
      if (sessionId && session.sessionId !== sessionId) continue;
      const socket = session.socket;
      if (!socket) continue;
      if (resumable) {
        // 4000 "Unknown error": clients reconnect and RESUME.
        socket.close(GatewayClose.UnknownError, 'fake: disconnect');
      } else {
        // The session is gone: the client's RESUME gets op 9 and it identifies again.
        session.resumable = false;
        socket.close(GatewayClose.SessionTimedOut, 'Session timed out');
      }
    }
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket): void {
    let session: Session | undefined;
    const sendOp = (op: number, d: unknown): void => ws.send(JSON.stringify({ op, d, s: null, t: null }));
    sendOp(GatewayOp.Hello, { heartbeat_interval: this.core.config.heartbeatIntervalMs, _trace: ['fake-discord'] });

    ws.on('message', (raw: RawData) => {
      let payload: { op?: number; d?: unknown };
      try {
        payload = JSON.parse(raw.toString()) as { op?: number; d?: unknown };
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      switch (payload.op) {
        case GatewayOp.Heartbeat:
          sendOp(GatewayOp.HeartbeatAck, null);
          break;
        case GatewayOp.Identify:
          if (session) return ws.close(GatewayClose.AlreadyAuthenticated, 'Already authenticated.');
          session = this.#identify(ws, payload.d as IdentifyData);
          break;
        case GatewayOp.Resume:
          if (session) return ws.close(GatewayClose.AlreadyAuthenticated, 'Already authenticated.');
          session = this.#resume(ws, payload.d as ResumeData);
          if (!session) sendOp(GatewayOp.InvalidSession, false);
          break;
        case GatewayOp.PresenceUpdate:
        case GatewayOp.VoiceStateUpdate:
        case GatewayOp.RequestGuildMembers:
          if (!session) ws.close(GatewayClose.NotAuthenticated, 'Not authenticated.');
          break;
        default:
          ws.close(4001, 'Unknown opcode.');
      }
      this.core.changed();
    });

    // A client vanishing mid-frame (a killed bot process) must not crash the test process.
    ws.on('error', () => ws.terminate());

    ws.on('close', (code: number) => {
      if (session && session.socket === ws) {
        session.socket = null;
        // A client that closes normally ends its session; anything else may resume.
        if (code === 1000 || code === 1001) session.resumable = false;
      }
      this.core.changed();
    });
  }

  #identify(ws: WebSocket, d: IdentifyData): Session | undefined {
    const token = String(d?.token ?? '').replace(/^Bot /, '');
    if (token !== this.core.config.token) {
      ws.close(GatewayClose.AuthenticationFailed, 'Authentication failed.');
      return undefined;
    }
    const intents = Number(d?.intents ?? 0);
    if ((intents & Intent.MessageContent) !== 0 && !this.core.config.messageContentIntentAllowed) {
      ws.close(GatewayClose.DisallowedIntents, 'Disallowed intent(s).');
      return undefined;
    }
    const shard = parseShard(d?.shard, this.core.config.shards);
    if (shard === 'invalid') {
      ws.close(GatewayClose.InvalidShard, 'Invalid shard');
      return undefined;
    }
    const session: Session = {
      sessionId: randomToken(32),
      intents,
      seq: 0,
      socket: ws,
      history: [],
      identifiedAt: Date.now(),
      resumes: 0,
      resumable: true,
      shard,
    };
    this.#sessions.set(session.sessionId, session);
    const { state } = this.core;
    const guilds = [...state.guilds.values()].filter((g) => ownsGuild(session, g.id));
    this.#send(session, 'READY', {
      v: 10,
      user: { ...userPayload(state.botUser), verified: true, mfa_enabled: false },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.sessionId,
      session_type: 'normal',
      resume_gateway_url: this.core.gatewayUrl,
      ...(shard ? { shard } : {}),
      application: { id: state.botUser.id, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ['fake-discord'],
    });
    for (const guild of guilds) this.#send(session, 'GUILD_CREATE', guildCreatePayload(state, guild));
    return session;
  }

  #resume(ws: WebSocket, d: ResumeData): Session | undefined {
    const session = this.#sessions.get(String(d?.session_id ?? ''));
    const token = String(d?.token ?? '').replace(/^Bot /, '');
    if (!session || !session.resumable || token !== this.core.config.token) return undefined;
    // A client resuming from a half-dead connection: the old socket goes.
    if (session.socket && session.socket !== ws) session.socket.terminate();
    session.socket = ws;
    session.resumes++;
    const since = Number(d?.seq ?? 0);
    for (const entry of session.history) if (entry.s > since) ws.send(entry.frame);
    this.#send(session, 'RESUMED', { _trace: ['fake-discord'] });
    return session;
  }

  #send(session: Session, event: string, data: unknown): void {
    session.seq++;
    const frame = JSON.stringify({ op: GatewayOp.Dispatch, t: event, s: session.seq, d: data });
    session.history.push({ s: session.seq, frame });
    if (session.history.length > HISTORY_LIMIT) session.history.shift();
    if (session.socket?.readyState === WebSocket.OPEN) session.socket.send(frame);
  }
}

interface IdentifyData {
  token?: unknown;
  intents?: unknown;
  shard?: unknown;
}

interface ResumeData {
  token?: unknown;
  session_id?: unknown;
  seq?: unknown;
}

/**
 * IDENTIFY's `shard`: absent → null (all guilds); `[id, count]` with 0 ≤ id < count and count the configured
 * shard count → the pair; anything else is 'invalid'. Discord itself accepts any count high enough for the
 * bot's guilds; the fake insists on its own so that a bot passing the wrong count is caught.
 */
function parseShard(shard: unknown, shards: number): [number, number] | null | 'invalid' {
  if (shard === undefined || shard === null) return null;
  if (!Array.isArray(shard) || shard.length !== 2) return 'invalid';
  const [id, count] = shard as unknown[];
  const valid = typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < shards && count === shards;
  return valid ? [id, shards] : 'invalid';
}

/** The guild a dispatch belongs to, or null (DMs). GUILD_CREATE/DELETE carry it as `id`, the others as `guild_id`. */
function guildOf(event: string, data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const key = event === 'GUILD_CREATE' || event === 'GUILD_DELETE' ? 'id' : 'guild_id';
  const id = (data as Record<string, unknown>)[key];
  return typeof id === 'string' ? id : null;
}

/** Discord sends a guild's events to the shard `(guild_id >> 22) % count` only, and DMs to shard 0 only. */
function ownsGuild(session: Session, guildId: string | null): boolean {
  if (!session.shard) return true;
  const [id, count] = session.shard;
  return guildId === null ? id === 0 : shardOf(guildId, count) === id;
}

/** Whether the session's intents subscribe it to this event. */
function receives(session: SessionView, event: string, data: unknown): boolean {
  const needed = requiredIntent(event, data);
  return needed === undefined || (session.intents & needed) !== 0;
}

function requiredIntent(event: string, data: unknown): number | undefined {
  const inGuild = Boolean(data && typeof data === 'object' && 'guild_id' in data);
  switch (event) {
    case 'MESSAGE_CREATE':
    case 'MESSAGE_UPDATE':
    case 'MESSAGE_DELETE':
      return inGuild ? Intent.GuildMessages : Intent.DirectMessages;
    case 'MESSAGE_REACTION_ADD':
    case 'MESSAGE_REACTION_REMOVE':
      return inGuild ? Intent.GuildMessageReactions : Intent.DirectMessageReactions;
    case 'GUILD_MEMBER_ADD':
    case 'GUILD_MEMBER_UPDATE':
    case 'GUILD_MEMBER_REMOVE':
      return Intent.GuildMembers;
    case 'TYPING_START':
      return inGuild ? Intent.GuildMessageTyping : undefined;
    case 'GUILD_CREATE':
    case 'GUILD_DELETE':
    case 'CHANNEL_CREATE':
    case 'CHANNEL_UPDATE':
    case 'CHANNEL_DELETE':
    case 'THREAD_CREATE':
    case 'THREAD_UPDATE':
    case 'THREAD_DELETE':
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE':
    case 'GUILD_ROLE_DELETE':
      return Intent.Guilds;
    case 'WEBHOOKS_UPDATE':
      return Intent.GuildWebhooks;
    default:
      return undefined;
  }
}
