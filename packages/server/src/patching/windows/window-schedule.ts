import { CronExpressionParser } from "cron-parser";

/** A maintenance window: it opens at each time `schedule` (cron, five fields) names, in `timeZone`. */
export interface WindowRule {
  schedule: string;
  durationMinutes: number;
  timeZone: string;
}

export interface WindowSpan {
  /** Whether `at` is inside this span. */
  open: boolean;
  opensAt: Date;
  closesAt: Date;
}

const YEAR_MS = 366 * 86_400_000;

function cron(rule: WindowRule, at: Date) {
  return CronExpressionParser.parse(rule.schedule, { tz: rule.timeZone, currentDate: at, strict: false });
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a rule is not a usable window, or null: the schedule must be five cron fields, the time zone
 * an IANA name, and the window must open at least once a year (`0 3 30 2 *` never does).
 */
export function windowProblem(rule: WindowRule): string | null {
  if (!isTimeZone(rule.timeZone)) return `${JSON.stringify(rule.timeZone)} is not an IANA time zone`;
  if (rule.schedule.trim().split(/\s+/).length !== 5) {
    return "the schedule must be five cron fields: minute hour day-of-month month day-of-week";
  }
  let next: Date;
  try {
    next = cron(rule, new Date()).next().toDate();
  } catch (error) {
    return `the schedule is not valid cron: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (next.getTime() - Date.now() > YEAR_MS) return "the window never opens within a year";
  return null;
}

/** The window span that contains `at`, or else the next one. */
export function windowAt(rule: WindowRule, at: Date): WindowSpan {
  const duration = rule.durationMinutes * 60_000;
  // The latest opening at or before `at`: the previous occurrence counted from just after it.
  const previous = cron(rule, new Date(at.getTime() + 1000))
    .prev()
    .toDate();
  if (previous.getTime() <= at.getTime() && at.getTime() < previous.getTime() + duration) {
    return { open: true, opensAt: previous, closesAt: new Date(previous.getTime() + duration) };
  }
  const next = cron(rule, at).next().toDate();
  return { open: false, opensAt: next, closesAt: new Date(next.getTime() + duration) };
}
