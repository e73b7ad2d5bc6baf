/** The bot cannot start, for a reason the operator can act on: main.ts logs the message alone and exits. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
