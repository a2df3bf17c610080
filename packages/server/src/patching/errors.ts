/** Errors of the patching API (merged into the API's closed set in http/errors.ts). */
export const PATCHING_ERRORS = {
  "rollouts.not_found": { status: 404, message: "There is no such rollout." },
  "rollouts.group_not_found": {
    status: 400,
    message: "A ring names a device group this organisation does not have.",
  },
  "rollouts.empty_ring": { status: 400, message: "A ring has no devices: its groups are empty." },
  "rollouts.nothing_to_install": {
    status: 400,
    message: "Mode packages needs packages, or vulnerabilities whose open findings have a fixed version.",
  },
  "rollouts.packages_not_allowed": { status: 400, message: "Packages are named only in mode packages." },
  "rollouts.window_not_found": { status: 400, message: "There is no such maintenance window." },
  "rollouts.not_running": { status: 409, message: "The rollout is not running." },
  "rollouts.not_paused": { status: 409, message: "The rollout is not paused." },
  "rollouts.finished": { status: 409, message: "The rollout has finished; it cannot change any more." },
  "rollouts.not_awaiting_approval": {
    status: 409,
    message: "No ring of this rollout is waiting for approval.",
  },
  "windows.not_found": { status: 404, message: "There is no such maintenance window." },
  "windows.invalid": { status: 400, message: "The maintenance window cannot be used." },
  "windows.in_use": { status: 409, message: "A policy or a running rollout uses this maintenance window." },
  "windows.name_taken": { status: 409, message: "Another maintenance window has this name." },
  "policies.not_found": { status: 404, message: "There is no such patch policy." },
  "policies.name_taken": {
    status: 409,
    message: "Another patch policy has this name, or the group already has one.",
  },
  "policies.group_not_found": { status: 400, message: "There is no such device group." },
} as const satisfies Record<string, { status: number; message: string }>;
