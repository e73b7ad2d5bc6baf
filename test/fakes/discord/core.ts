import { EventEmitter } from 'node:events';
import { ApiError, Errors } from './api-error.js';
import { FaultInjector } from './faults.js';
import { RateLimiter } from './ratelimit.js';
import type { SnowflakeFactory } from './snowflake.js';
import type { FakeState } from './state.js';
import type { FakeDiscordEvents, RateLimitConfig, RecordedRequest, Violation, ViolationIssue, ViolationKind } from './types.js';
import { ChangeNotifier } from './waiter.js';

export interface FakeConfig {
  token: string;
  botPermissions: bigint;
  messageContentIntentAllowed: boolean;
  rateLimits: RateLimitConfig | false;
  nonceWindowMs: number;
  heartbeatIntervalMs: number;
  interactionAckTimeoutMs: number;
  botUsername: string;
  guildName: string;
  channelName: string;
  /** Shard count recommended by /gateway/bot and required in IDENTIFY. */
  shards: number;
  /** Seeds the latency PRNG. */
  seed: number;
}

/** What a receiving gateway session looks like to code shaping a dispatch for it. */
export interface SessionView {
  sessionId: string;
  intents: number;
}

/** Reshapes a dispatch for one session (e.g. without message content); undefined skips the session. */
export type PerSession = (session: SessionView) => unknown;

export interface Dispatcher {
  dispatch(event: string, data: unknown, perSession?: PerSession): void;
  /** Whether some live or resumable session would receive the guild's events (null: DMs). */
  reaches(guildId: string | null): boolean;
}

/** The request as route handlers see it. */
export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  files: RecordedRequest['files'];
  multipart: boolean;
  record: RecordedRequest;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The fake's shared insides: configuration, state, recordings and the ways to
 * tell the world something happened. Route handlers, actions and the public
 * class all work through this one object.
 */
export class Core {
  readonly notifier = new ChangeNotifier();
  readonly events = new EventEmitter();
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly faults: FaultInjector;
  readonly limiter: RateLimiter;
  /** Set once the HTTP server listens. */
  baseUrl = '';
  #dispatcher: Dispatcher | undefined;

  constructor(
    readonly config: FakeConfig,
    readonly state: FakeState,
    /** The one id source: every snowflake in a fake comes from here, so ids never collide. */
    readonly ids: SnowflakeFactory,
  ) {
    this.faults = new FaultInjector(this.notifier, config.seed);
    this.limiter = new RateLimiter(config.rateLimits);
    // Many waiters and test listeners may subscribe at once.
    this.events.setMaxListeners(0);
  }

  /** Where clients open the gateway (also the resume URL). */
  get gatewayUrl(): string {
    return `${this.baseUrl.replace(/^http/, 'ws')}/gateway`;
  }

  attachDispatcher(dispatcher: Dispatcher): void {
    this.#dispatcher = dispatcher;
  }

  /** Whether a guild's (or, for null, DMs') events would reach any gateway session. */
  reaches(guildId: string | null): boolean {
    return this.#dispatcher?.reaches(guildId) ?? false;
  }

  /** Sends a gateway event to every identified session whose intents and shard cover it. */
  dispatch(event: string, data: unknown, perSession?: PerSession): void {
    this.#dispatcher?.dispatch(event, data, perSession);
    this.emit('dispatch', event, data);
  }

  emit<E extends keyof FakeDiscordEvents>(event: E, ...args: Parameters<FakeDiscordEvents[E]>): void {
    this.events.emit(event, ...args);
  }

  /** Something changed: wake waiters. */
  changed(): void {
    this.notifier.notify();
    this.emit('change');
  }

  recordViolation(kind: ViolationKind, req: { method: string; path: string }, issues: ViolationIssue[]): void {
    const violation: Violation = { kind, method: req.method, path: req.path, issues, at: Date.now() };
    this.violations.push(violation);
    this.emit('violation', violation);
  }

  /** Records the issues as a violation and answers 400 Invalid Form Body, as Discord does. */
  enforce(req: ApiRequest, issues: ViolationIssue[], kind: ViolationKind = 'schema'): void {
    if (issues.length === 0) return;
    this.recordViolation(kind, req, issues);
    throw Errors.invalidFormBody(issues);
  }

  /** Records a violation and throws the given Discord error. */
  refuse(req: ApiRequest, error: ApiError, kind: ViolationKind, issues: ViolationIssue[]): never {
    this.recordViolation(kind, req, issues);
    throw error;
  }
}
