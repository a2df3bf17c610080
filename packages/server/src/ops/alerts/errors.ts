/** Errors of the alerting API (merged into the API's closed set in http/errors.ts). */
export const ALERT_ERRORS = {
  "alerts.rule_not_found": { status: 404, message: "There is no such alert rule." },
} as const satisfies Record<string, { status: number; message: string }>;
