/** Limits of the slash command options, declared on the command and checked again in code. */
export const LIMITS = {
  topic: 1_000,
  question: 1_000,
  rounds: { min: 1, max: 50 },
  delay: { min: 0, max: 86_400 },
  threadName: 100,
  budget: { min: 0.01, max: 1000 },
} as const;
