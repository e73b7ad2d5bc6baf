/** Everything salon posts carries this: a model (or a person quoted) writing @everyone pings nobody. */
export const NO_MENTIONS = { parse: [] as [] };
