/** A refusal meant for the person who asked: the message says what is wrong and what to do instead. */
export class SalonError extends Error {
  constructor(
    readonly code: 'not_found' | 'not_running' | 'not_paused' | 'closed' | 'finished' | 'duplicate' | 'invalid' | 'forbidden',
    message: string,
  ) {
    super(message);
    this.name = 'SalonError';
  }
}
