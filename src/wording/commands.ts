/**
 * The descriptions Discord shows in its command picker: the `/salon` command's, then each subcommand's (`summary`)
 * and its options', keyed by the option's own name.
 */
export const descriptions = {
  salon: 'Host a conversation between language models in a thread',
  start: {
    summary: 'Start a salon: two to six models talk about a topic in a new thread',
    topic: 'What the models should talk about',
    model_a: 'The model that speaks first',
    model_b: 'The model that answers',
    model_c: 'A third model (optional)',
    model_d: 'A fourth model (optional)',
    model_e: 'A fifth model (optional)',
    model_f: 'A sixth model (optional)',
    rounds: 'Rounds (every model speaks once a round)',
    delay: 'Seconds between turns',
    budget: 'The most this salon may spend, in US dollars',
    panel: 'A panel of models from the server’s config, in place of model_a…model_f',
    order: 'Who speaks next: the seats in order, or a moderator model’s pick',
  },
  ask: {
    summary: 'Put a question to the salon; the next speaker (or the one you pick) answers it',
    question: 'Your question',
    to: 'Which model should answer (default: whoever speaks next)',
  },
  next: {
    summary: 'Choose who speaks next (once; someone who has not spoken this round)',
    speaker: 'The model that speaks next',
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
    format: 'md (the archive, default), html (one page that opens offline) or json (for programs)',
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
    model_c: 'The third model (default: the parent’s, if it had one)',
    model_d: 'The fourth model (default: the parent’s, if it had one)',
    model_e: 'The fifth model (default: the parent’s, if it had one)',
    model_f: 'The sixth model (default: the parent’s, if it had one)',
    panel: 'A panel from the server’s config, in place of the parent’s models',
    direction: 'An opening question that steers the fork',
  },
  share: {
    summary: 'Share this salon as a web page (a private link for you to pass on)',
    listed: 'Also list it on the gallery’s front page (default: no)',
  },
  unshare: {
    summary: 'Stop sharing this salon on the web: its link stops working at once',
  },
  close: {
    summary: 'Close this salon: post its transcript as a file and archive the thread',
    synthesis: 'Have a model write a synthesis first (default: as configured)',
  },
} as const;
