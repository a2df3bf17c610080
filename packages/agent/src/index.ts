export { collectFacts, collectInventory } from "./collectors/index.js";
export { runAgent } from "./run/agent-loop.js";
export { enroll } from "./run/enroll.js";
export { AgentState, defaultStateDir } from "./state/agent-state.js";
export { AGENT_VERSION } from "./version.js";
