import { describe, expect, it } from "vitest";
import { windowAt, windowProblem } from "./window-schedule.js";

const saturdayNight = { schedule: "0 2 * * 6", durationMinutes: 240, timeZone: "Europe/London" };

describe("maintenance windows", () => {
  it("is open from each opening for its duration, in its own time zone", () => {
    // Saturday 5 December 2026, 02:00 in London is 02:00 UTC (GMT in winter).
    expect(windowAt(saturdayNight, new Date("2026-12-05T03:30:00Z"))).toEqual({
      open: true,
      opensAt: new Date("2026-12-05T02:00:00Z"),
      closesAt: new Date("2026-12-05T06:00:00Z"),
    });
    expect(windowAt(saturdayNight, new Date("2026-12-05T06:00:00Z")).open).toBe(false);
    expect(windowAt(saturdayNight, new Date("2026-12-01T12:00:00Z"))).toEqual({
      open: false,
      opensAt: new Date("2026-12-05T02:00:00Z"),
      closesAt: new Date("2026-12-05T06:00:00Z"),
    });
    // In summer London is UTC+1: the same rule opens at 01:00 UTC.
    expect(windowAt(saturdayNight, new Date("2026-07-01T00:00:00Z")).opensAt).toEqual(
      new Date("2026-07-04T01:00:00Z"),
    );
  });

  it("follows the time zone across a daylight-saving change", () => {
    const daily = { schedule: "30 1 * * *", durationMinutes: 60, timeZone: "America/New_York" };
    // 2026-03-08 is the spring-forward day in New York: 01:30 EST is 06:30 UTC; the next day EDT.
    expect(windowAt(daily, new Date("2026-03-08T00:00:00Z")).opensAt).toEqual(
      new Date("2026-03-08T06:30:00Z"),
    );
    expect(windowAt(daily, new Date("2026-03-08T08:00:00Z")).opensAt).toEqual(
      new Date("2026-03-09T05:30:00Z"),
    );
  });

  it("refuses a schedule that is not cron, a time zone that does not exist, and a window that never opens", () => {
    expect(windowProblem(saturdayNight)).toBeNull();
    expect(windowProblem({ ...saturdayNight, schedule: "every saturday" })).toMatch(/five cron fields/);
    expect(windowProblem({ ...saturdayNight, schedule: "0 25 * * *" })).toMatch(/not valid cron/);
    expect(windowProblem({ ...saturdayNight, timeZone: "Mars/Olympus_Mons" })).toMatch(
      /not an IANA time zone/,
    );
    expect(windowProblem({ ...saturdayNight, schedule: "0 3 30 2 *" })).toMatch(/never opens|not valid cron/);
  });
});
