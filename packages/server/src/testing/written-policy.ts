import { type Action, type AssignableRole, actionKind } from "@patchpilot/domain";

/**
 * The access policy in plain terms, kept apart from the matrix so that tests can hold the matrix
 * and the server to it: everyone reads everything in their organisation; Auditors change nothing;
 * Operators run the fleet and its rollouts but do not manage people, the organisation, enrolment or
 * patch policies, compliance or single sign-on settings, and do not approve a ring's promotion (a second person's check); Owners and
 * Admins do all.
 */
export function WRITTEN_POLICY(role: AssignableRole, action: Action): boolean {
  if (actionKind(action) === "read") return true;
  if (role === "auditor") return false;
  if (role === "operator") {
    // Enrolment tokens let a machine join the organisation: an Owner's or Admin's decision.
    if (action === "rollouts.approve") return false;
    // API tokens act without a person, and MSP staff reach client organisations: both are an
    // Owner's or Admin's decision.
    // Compliance settings (retention, SIEM, checkpoints) decide what an auditor can later see.
    // Single sign-on decides who may sign in at all.
    return ![
      "users.",
      "organization.",
      "enrollment_tokens.",
      "patch_policies.",
      "api_tokens.",
      "msp.",
      "compliance.",
      // Alert rules decide who is told what, and where the server sends data: Owners and Admins.
      "alert_rules.",
      "sso.",
    ].some((prefix) => action.startsWith(prefix));
  }
  return true;
}
