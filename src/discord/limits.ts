/** What Discord itself accepts. The salon's own limits are LIMITS in src/domain/limits.ts. */
export const DISCORD_LIMITS = {
  /** Code units (string.length) in a message's content. */
  message: 2_000,
  /** Characters in a thread's name. */
  threadName: 100,
} as const;
