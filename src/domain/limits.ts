/**
 * Every limit a salon has, in one place: the slash commands declare them, the command handlers check them again
 * in code, and the config schema holds the operator's settings to them.
 */
export const LIMITS = {
  /** Characters in a topic. */
  topic: 1_000,
  /** Characters in a question (or a fork's direction). */
  question: 1_000,
  /** Rounds given at once: by start, fork or extend, and in `salon.rounds`. */
  rounds: { min: 1, max: 50 },
  /** Rounds a salon may have in all, extensions included. */
  totalRounds: 200,
  /** Seconds between turns. */
  delay: { min: 0, max: 86_400 },
  /** US dollars a salon may be given to spend. */
  budget: { min: 0.01, max: 1000 },
  /** Questions that may wait at once (`salon.maxPendingQuestions`). */
  pendingQuestions: { min: 1, max: 100 },
  /** Seats at one salon: `model_a`…`model_f`, or a panel. */
  seats: { min: 2, max: 6 },
  /** Characters in a model's display name: Discord shows at most 80 in a webhook name. */
  displayName: 80,
} as const;
