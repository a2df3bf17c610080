import { describe, expect, it } from "vitest";
import { auditRetentionDays, lowestPlanWith, PLANS, planAllows } from "./plans.js";

describe("plan tiers", () => {
  it("unlock single sign-on and SIEM from Business, SAML at Enterprise, clients at MSP", () => {
    expect(lowestPlanWith("sso_oidc")).toBe("business");
    expect(lowestPlanWith("siem_forwarding")).toBe("business");
    expect(lowestPlanWith("sso_saml")).toBe("enterprise");
    expect(lowestPlanWith("msp_clients")).toBe("msp");
    expect(planAllows("free", "siem_forwarding")).toBe(false);
    expect(planAllows("professional", "sso_oidc")).toBe(false);
  });

  it("never take a feature away further up the path", () => {
    for (const [i, plan] of PLANS.entries()) {
      for (const higher of PLANS.slice(i + 1)) {
        for (const feature of ["sso_oidc", "sso_saml", "siem_forwarding"] as const) {
          if (planAllows(plan, feature))
            expect(planAllows(higher, feature), `${higher} ${feature}`).toBe(true);
        }
      }
    }
  });

  it("keep audit history 30, 90, 365 and 1095 days, or the organisation's own value", () => {
    expect(
      (["free", "starter", "professional", "business"] as const).map((p) => auditRetentionDays(p, 7)),
    ).toEqual([30, 90, 365, 1095]);
    expect(auditRetentionDays("enterprise", 2000)).toBe(2000);
    expect(auditRetentionDays("enterprise", null)).toBe(1095);
  });
});
