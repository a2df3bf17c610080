import { sql } from "kysely";
import type { Database } from "../../db/database.js";
import type { JobRunner } from "../../jobs/job-runner.js";
import { stepRollout } from "./rollout-engine.js";

export const TICK_JOB = "rollouts.tick";
/** Steps taken in a row for one rollout before others get a turn. */
const STEPS_IN_A_ROW = 20;

/**
 * Drives rollouts. When something happens to one (created, a result, an approval, a resume) the
 * process where it happened steps it at once; a tick each minute, run by whichever process leases
 * it from the job table, steps every running rollout (windows open, soaks end, jobs expire with
 * nobody acting). A step locks its rollout's row, so steps of one rollout never overlap, in one
 * process or several; a server killed mid-step loses only that step's uncommitted transaction.
 */
export class RolloutRunner {
  readonly #stepping = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  #started = false;
  #resuming: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    jobs: JobRunner,
    private readonly onError: (error: unknown, message: string) => void,
  ) {
    jobs.register(TICK_JOB, () => this.#stepRunning(false));
    jobs.schedule({ kind: TICK_JOB, everyMs: 60_000 });
  }

  /**
   * Starts stepping, and steps every running rollout once at once: a process that died in the
   * middle of a step (or between a commit and the step it called for) left work that nothing else
   * announces, and the next tick may be a minute away.
   */
  start(): void {
    this.#started = true;
    this.#resuming = this.#stepRunning(true)
      .catch((error: unknown) => this.onError(error, "could not resume the running rollouts"))
      .finally(() => (this.#resuming = null));
  }

  async stop(): Promise<void> {
    this.#started = false;
    await this.#resuming;
    await Promise.allSettled([...this.#stepping.values()]);
  }

  async #stepRunning(untilStopped: boolean): Promise<void> {
    const running = await sql<{ id: string; organization_id: string }>`
      SELECT id, organization_id FROM rollouts WHERE state = 'running'`.execute(this.db.systemReader);
    for (const r of running.rows) {
      if (untilStopped && !this.#started) return;
      await this.step(r.organization_id, r.id);
    }
  }

  /** Something happened to the rollout: step it now, in the background (a no-op until started). */
  kick(organizationId: string, rolloutId: string): void {
    if (!this.#started) return;
    this.step(organizationId, rolloutId).catch((error: unknown) =>
      this.onError(error, "a rollout step failed"),
    );
  }

  /** Steps the rollout until it has nothing to do now; a kick during a run makes it go round again. */
  step(organizationId: string, rolloutId: string): Promise<void> {
    const running = this.#stepping.get(rolloutId);
    if (running) {
      this.#again.add(rolloutId);
      return running;
    }
    const run = (async () => {
      do {
        this.#again.delete(rolloutId);
        for (let i = 0; i < STEPS_IN_A_ROW; i++) {
          if (!(await stepRollout(this.db, organizationId, rolloutId))) break;
        }
      } while (this.#again.has(rolloutId));
    })().finally(() => this.#stepping.delete(rolloutId));
    this.#stepping.set(rolloutId, run);
    return run;
  }
}
