/** What goes wrong opening a store or the job queue: said in one line that names the variable to check. */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Hides the password in a store URL so it can be logged. */
export function redactStoreUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1[redacted]@');
}

/** The refusal of a store URL whose scheme no store handles. */
export function unsupportedStoreError(url: string): StoreError {
  return new StoreError(`SALON_STORE_URL: unsupported store "${redactStoreUrl(url)}"; expected sqlite://, redis:// or postgres://`);
}
