/**
 * The descriptions Discord shows in its command picker: the `/salon` command's, then each subcommand's (`summary`)
 * and its options', keyed by the option's own name.
 */
export const descriptions = {
  salon: 'Host a conversation between two language models in a thread',
  start: {
    summary: 'Start a salon: two models talk about a topic in a new thread',
    topic: 'What the models should talk about',
    model_a: 'The model that speaks first',
    model_b: 'The model that answers',
    rounds: 'Rounds (A speaks, then B)',
    delay: 'Seconds between turns',
    budget: 'The most this salon may spend, in US dollars',
  },
  ask: {
    summary: 'Put a question to the salon; the next speaker (or the one you pick) answers it',
    question: 'Your question',
    to: 'Which model should answer (default: whoever speaks next)',
  },
  pause: {
    summary: 'Pause this salon: no model speaks until it is resumed',
  },
  resume: {
    summary: 'Resume a paused salon',
    budget: 'A new spending cap in US dollars, for a salon that reached its budget',
  },
  status: {
    summary: 'Show this salon: round, models, state and when the next turn is due',
  },
  transcript: {
    summary: 'Get the transcript so far as a file, just for you; nothing changes',
  },
  extend: {
    summary: 'Add rounds to this salon; a finished salon carries on',
    rounds: 'Rounds to add',
  },
  fork: {
    summary: 'Branch this salon into a new thread from a round of your choice, with other models if you like',
    from_round: 'Carry over the rounds up to this one (default: every round done)',
    rounds: 'Rounds to run in the fork (default: as many as the parent)',
    model_a: 'The model that speaks first (default: the parent’s)',
    model_b: 'The model that answers (default: the parent’s)',
    direction: 'An opening question that steers the fork',
  },
  close: {
    summary: 'Close this salon: post its transcript as a file and archive the thread',
    synthesis: 'Have a model write a synthesis first (default: as configured)',
  },
} as const;
