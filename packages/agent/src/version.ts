/** The agent's version, reported on every check-in. */
export const AGENT_VERSION = "0.1.0";
