/**
 * The machine's own database servers, shared by every test that needs one (each works in a schema or key prefix
 * of its own and removes it): PostgreSQL with a database `test`, and Redis. SALON_TEST_POSTGRES_URL and
 * SALON_TEST_REDIS_URL point the tests at others. Tests that stop and start a server run a private one instead
 * (servers.ts).
 */
export const POSTGRES_URL = process.env.SALON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.SALON_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
