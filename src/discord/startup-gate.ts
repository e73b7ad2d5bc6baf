/**
 * What Discord sends while the bot is still starting, held until the engine has loaded its salons.
 *
 * The bot listens from login, because discord.js emits the events that arrived while it was getting ready the
 * moment it is ready, to whichever handlers exist then; but a command cannot be answered before the engine has
 * loaded every stored salon, which with many salons takes far longer than the gateway. So:
 * - a command waits; if it is still waiting close to Discord's 3 s, it is deferred (which buys 15 minutes)
 *   and answered once the engine is ready, by the usual handler, which sees it as deferred;
 * - an autocomplete cannot be deferred: it waits briefly, then gets no choices;
 * - a thread message (or any other task) is kept, in order, and handled once ready.
 */
import { MessageFlags, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { Logger } from 'pino';

interface StartupGateOptions {
  log: Logger;
  /** A waiting command is deferred once it is this old: Discord wants an acknowledgement within 3 s of sending it. */
  deferAtAgeMs?: number;
  /** A waiting autocomplete is answered with no choices once it is this old; it has the same 3 s and no deferral. */
  giveUpAutocompleteAtAgeMs?: number;
  /** Tasks kept while starting, at most; a busy server's chatter during a very long start must not grow without bound. */
  maxBacklog?: number;
}

type State<T> = { kind: 'starting' } | { kind: 'open'; value: T } | { kind: 'failed' };

const TIMED_OUT = Symbol('timed out');

export class StartupGate<T> {
  private state: State<T> = { kind: 'starting' };
  private backlog: Array<(value: T) => void> = [];
  private dropped = 0;
  private settle!: (value: T | undefined) => void;
  /** Resolves with the value once open, or undefined if the start failed (what waits is then dropped). */
  private readonly settled = new Promise<T | undefined>((resolve) => (this.settle = resolve));
  private readonly log: Logger;
  private readonly deferAtAgeMs: number;
  private readonly giveUpAutocompleteAtAgeMs: number;
  private readonly maxBacklog: number;

  constructor(options: StartupGateOptions) {
    this.log = options.log;
    this.deferAtAgeMs = options.deferAtAgeMs ?? 2_000;
    this.giveUpAutocompleteAtAgeMs = options.giveUpAutocompleteAtAgeMs ?? 2_000;
    this.maxBacklog = options.maxBacklog ?? 10_000;
  }

  get isOpen(): boolean {
    return this.state.kind === 'open';
  }

  /** Ready: runs the kept tasks in the order they came, before anything that arrives after. */
  open(value: T): void {
    if (this.state.kind !== 'starting') return;
    this.state = { kind: 'open', value };
    const backlog = this.backlog;
    this.backlog = [];
    if (backlog.length > 0) this.log.info({ kept: backlog.length, dropped: this.dropped }, 'handling what arrived while starting');
    for (const task of backlog) this.runTask(task, value);
    this.settle(value);
  }

  /** The start failed: nothing kept will ever be handled. */
  fail(): void {
    if (this.state.kind !== 'starting') return;
    this.state = { kind: 'failed' };
    if (this.backlog.length > 0) this.log.warn({ dropped: this.backlog.length + this.dropped }, 'start-up failed; dropping what arrived meanwhile');
    this.backlog = [];
    this.settle(undefined);
  }

  /** Runs `task` now when ready, later (in arrival order) while starting, never after a failed start. */
  later(task: (value: T) => void): void {
    if (this.state.kind === 'open') return this.runTask(task, this.state.value);
    if (this.state.kind === 'failed') return;
    if (this.backlog.length >= this.maxBacklog) {
      if (this.dropped++ === 0) this.log.warn({ maxBacklog: this.maxBacklog }, 'too much arrived while starting; dropping the newest');
      return;
    }
    this.backlog.push(task);
  }

  /**
   * Resolves with the value once ready. While starting, defers the interaction (ephemeral when its answer will
   * be) if it is not ready by the time the interaction is `deferAtAgeMs` old. Undefined after a failed start.
   */
  async command(interaction: ChatInputCommandInteraction, { ephemeral }: { ephemeral: boolean }): Promise<T | undefined> {
    if (this.state.kind === 'open') return this.state.value;
    const waited = await this.within(this.waitFor(interaction, this.deferAtAgeMs));
    if (waited !== TIMED_OUT) return waited;
    // Nothing else acknowledges the interaction until the value comes, so this cannot race the handler.
    await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
    this.log.info({ interaction: interaction.id, subcommand: interaction.options.getSubcommand(false) }, 'command deferred until the engine has loaded');
    return this.settled;
  }

  /** Resolves with the value if ready soon enough; otherwise answers no choices and resolves undefined. */
  async autocomplete(interaction: AutocompleteInteraction): Promise<T | undefined> {
    if (this.state.kind === 'open') return this.state.value;
    const waited = await this.within(this.waitFor(interaction, this.giveUpAutocompleteAtAgeMs));
    if (waited !== TIMED_OUT) return waited;
    await interaction.respond([]);
    return undefined;
  }

  /** How long an interaction may still wait: Discord's clock starts when it sent it, not when we saw it. */
  private waitFor(interaction: { createdTimestamp: number }, atAgeMs: number): number {
    const age = Date.now() - interaction.createdTimestamp;
    // Never longer than atAgeMs, whatever the clocks say; a clock running ahead at worst defers at once, which is harmless.
    return Math.min(atAgeMs, Math.max(0, atAgeMs - age));
  }

  private async within(ms: number): Promise<T | undefined | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
    try {
      return await Promise.race([this.settled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private runTask(task: (value: T) => void, value: T): void {
    try {
      task(value);
    } catch (err) {
      this.log.error({ err }, 'handling what arrived while starting failed');
    }
  }
}
