/** Errors of the compliance API (merged into the API's closed set in http/errors.ts). */
export const COMPLIANCE_ERRORS = {
  "compliance.invalid_range": { status: 400, message: "The period's start must be before its end." },
  "compliance.unknown_framework": {
    status: 400,
    message: "There is no such framework; ask GET /api/v1/compliance/frameworks for the list.",
  },
  "compliance.owner_only": {
    status: 403,
    message: "Only an Owner may change how long this organisation's audit history is kept.",
  },
  "compliance.retention_fixed": {
    status: 402,
    message: "This plan keeps audit history for a fixed time; a custom retention needs the Enterprise plan.",
  },
  "compliance.siem_not_configured": { status: 404, message: "SIEM forwarding is not configured." },
} as const satisfies Record<string, { status: number; message: string }>;
