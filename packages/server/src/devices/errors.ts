/** Errors of enrolment, agents and the device API (merged into the API's closed set in http/errors.ts). */
export const DEVICE_ERRORS = {
  "enrollment.token_invalid": {
    status: 401,
    message: "This enrolment token is not valid: check that it was copied whole (it starts with ppk_).",
  },
  "enrollment.token_expired": { status: 403, message: "This enrolment token has expired; create a new one." },
  "enrollment.token_used_up": {
    status: 403,
    message: "This enrolment token has been used as many times as it allows; create a new one.",
  },
  "enrollment.token_revoked": { status: 403, message: "This enrolment token was revoked." },
  "enrollment.rate_limited": {
    status: 429,
    message: "Too many enrolment attempts from this address; wait and retry.",
  },
  "enrollment_tokens.not_found": { status: 404, message: "There is no such enrolment token." },
  "devices.already_enrolled": {
    status: 409,
    message:
      "A device with this hardware id is already enrolled in the organisation. An Admin can allow it to be " +
      "enrolled again (POST …/devices/{id}/reenrollment) or retire it; a cloned machine needs a new machine id.",
  },
  "devices.not_found": { status: 404, message: "There is no such device." },
  "device_groups.not_found": { status: 404, message: "There is no such device group." },
  "device_groups.name_taken": { status: 409, message: "A device group with this name already exists." },
  "agent.token_invalid": {
    status: 401,
    message: "The device token is not valid: it was revoked, its device was retired, or it is mistyped.",
  },
  "agent.wrong_device": { status: 403, message: "This device token belongs to another device." },
  "inventory.duplicate_entry": { status: 400, message: "The inventory lists the same package twice." },
  "inventory.base_mismatch": {
    status: 409,
    message: "The server holds a different inventory than these changes start from; send the full inventory.",
  },
  "inventory.hash_mismatch": {
    status: 409,
    message: "The changes do not lead to the inventory hash sent with them; send the full inventory.",
  },
  "jobs.not_found": { status: 404, message: "There is no such job for this device." },
} as const satisfies Record<string, { status: number; message: string }>;
