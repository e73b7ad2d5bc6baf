/**
 * Why a request was refused, as data: a code and the values the answer needs. The words for each are in
 * src/wording, so the rules say what happened and never how to say it.
 */
export type Refusal =
  // The salon's own rules (transitions.ts).
  | { code: 'closed' }
  | { code: 'question_duplicate' }
  /** Nobody has a turn left to answer: `to` is the name of the speaker the question was put to, if any. */
  | { code: 'no_turn_left'; to?: string; lastInFlight?: boolean }
  | { code: 'questions_waiting'; max: number }
  | { code: 'too_many_rounds'; total: number; max: number; current: number }
  | { code: 'already_paused' }
  | { code: 'nothing_to_pause' }
  | { code: 'already_running' }
  | { code: 'all_rounds_done' }
  /** `/salon next`: the seat has spoken (or is speaking: `speaking`) in the round of the first turn not yet picked. */
  | { code: 'seat_spoke'; name: string; round: number; speaking: boolean }
  /** `/salon next`: every turn left is already taken or picked. */
  | { code: 'no_turn_to_choose' }
  /** `/salon unshare` of a salon that is not shared. */
  | { code: 'not_shared' }
  /** `/salon share` while the operator has turned sharing off (`web.sharing: false`), or no web server runs. */
  | { code: 'sharing_off'; reason: 'config' | 'no_server' }
  /** A new budget that is no more than what was spent already. */
  | { code: 'budget_below_spent'; spent: number; budget: number }
  | { code: 'budget_spent'; spent: number; budget: number }
  // The engine: which salon a request is about.
  | { code: 'salon_exists' }
  | { code: 'no_salon' }
  // Requests checked by the adapters before they reach a salon; `command` and `option` are the command's own names.
  | { code: 'not_a_thread'; command: string }
  | { code: 'thread_not_salon'; command: string }
  | { code: 'empty_text'; field: TextField }
  | { code: 'text_too_long'; field: TextField; length: number; max: number }
  | { code: 'not_whole_number'; field: NumberField; min: number; max: number }
  | { code: 'channel_not_allowed'; channelIds: string[] }
  | { code: 'role_required'; roleIds: string[] }
  | { code: 'guild_cap'; active: number }
  | { code: 'user_cap'; active: number }
  | { code: 'not_controller'; starter: string; command: string }
  /** `wanted` is what was typed; `names` the salon's speakers, in seat order. */
  | { code: 'unknown_speaker'; wanted: string; names: string[]; command: 'ask' | 'next' }
  | { code: 'unknown_panel'; wanted: string; panels: string[] }
  /** `panel` chooses every seat: `options` are the seat options given with it. */
  | { code: 'panel_with_models'; options: string[] }
  /** `model_<letter>` given while an earlier seat's option was left empty. */
  | { code: 'seat_gap'; option: string; missing: string }
  /** Moderated order asked for, but the config names no moderator. */
  | { code: 'no_moderator' }
  | { code: 'unknown_model'; wanted: string; option: string; models: { key: string; name: string }[] }
  /** `missing`: the permissions' names as Discord shows them. */
  | { code: 'bot_lacks_permissions'; channelId: string; missing: string[] }
  /** `operatorCeiling`: the maximum is the operator's (salon.maxBudgetUSD), not salon's own. */
  | { code: 'budget_out_of_range'; min: number; max: number; operatorCeiling: boolean }
  | { code: 'not_a_text_channel' }
  | { code: 'fork_no_channel' }
  | { code: 'fork_too_many_rounds'; max: number; carried: number; rounds: number };

export type RefusalCode = Refusal['code'];

/** What people type, by the name the refusal gives it. */
export type TextField = 'question' | 'topic' | 'direction';
export type NumberField = 'rounds' | 'rounds_to_add' | 'delay' | 'fork_round';

/** A refusal meant for the person who asked; the message is for logs, the words are rendered from `refusal`. */
export class SalonError extends Error {
  constructor(readonly refusal: Refusal) {
    const { code, ...values } = refusal;
    super(Object.keys(values).length > 0 ? `${code} ${JSON.stringify(values)}` : code);
    this.name = 'SalonError';
  }

  get code(): RefusalCode {
    return this.refusal.code;
  }
}

/**
 * Why a model request failed, or was never made, as data: the model client (or the engine, or the rules) says what
 * happened, and src/wording says it in words.
 * `message` is the endpoint's own account, already cut and cleaned of anything that looks like a key.
 */
export type ModelFailure =
  /** Answered with an HTTP error status. */
  | { code: 'http_status'; status: number; message?: string }
  /** A 200 reply that carried an error instead of a completion: as its whole body, or as an event in its stream. */
  | { code: 'error_in_reply'; where: 'body' | 'stream'; errorCode?: string | number; message?: string }
  /** A stream that ended without a finish reason (no reply is complete without one), after `characters` of text. */
  | { code: 'cut_short'; characters: number }
  | { code: 'connection_broken'; host: string; message?: string }
  | { code: 'unreachable'; host: string; message?: string }
  | { code: 'timeout'; seconds: number }
  | { code: 'empty_reply'; name: string; finishReason?: string }
  /** The reply reached `maxTokens` before a word of it was written: spent on reasoning, when `reasoning`. */
  | { code: 'no_room_to_reply'; modelKey: string; maxTokens: number; reasoning: boolean }
  /** No model of that key in the config: asked for by a request, by a seat (it was there when the salon started), or as the synthesizer. */
  | { code: 'not_in_config'; modelKey: string; by?: 'seat' | 'synthesizer' }
  /** The salon had spent its budget, so the request was not made (the closing synthesis). */
  | { code: 'budget_spent'; budget: number }
  /** Something on salon's own side went wrong; the details are in the log. */
  | { code: 'unexpected' };
