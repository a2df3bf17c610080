/** Errors of the vulnerability API (merged into the API's closed set in http/errors.ts). */
export const VULN_ERRORS = {
  "vulnerabilities.not_found": {
    status: 404,
    message: "There is no such vulnerability in the knowledge base.",
  },
  "vulnerabilities.ambiguous_id": {
    status: 409,
    message: "This advisory covers several vulnerabilities; ask for one of them by its own id.",
  },
  "findings.not_found": { status: 404, message: "There is no such finding." },
  "findings.closed": {
    status: 409,
    message: "This finding is fixed: there is nothing left to decide about it.",
  },
  "findings.suppressed_by_wider_scope": {
    status: 409,
    message:
      "A wider decision (for every package on the device, a device group or the whole organisation) covers this " +
      "finding; revoke that one instead.",
  },
  "suppressions.not_found": { status: 404, message: "There is no such suppression." },
  "suppressions.already_revoked": { status: 409, message: "This suppression was already revoked." },
} as const satisfies Record<string, { status: number; message: string }>;
