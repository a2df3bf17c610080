import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { submitJob } from "./job-queue.js";
import { backoffSeconds, JobRunner } from "./job-runner.js";

let testDb: TestDatabase;
const errors: string[] = [];
const runner = (handlers: Record<string, (payload: Record<string, unknown>) => Promise<void>>) => {
  const r = new JobRunner(testDb.db, (_error, message) => errors.push(message));
  for (const [kind, handler] of Object.entries(handlers)) r.register(kind, handler);
  return r;
};
const jobs = () =>
  testDb.db.owner.query<{
    kind: string;
    state: string;
    attempts: number;
    last_error: string | null;
    due: boolean;
  }>("SELECT kind, state, attempts, last_error, run_at <= now() AS due FROM jobs ORDER BY id");

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());
beforeEach(async () => {
  errors.length = 0;
  await testDb.db.owner.exec("DELETE FROM jobs");
});

describe("the job runner", () => {
  it("runs a queued job once, with its payload, and records it done", async () => {
    const seen: unknown[] = [];
    await submitJob(testDb.db, { kind: "test.echo", payload: { n: 1 } });
    const r = runner({ "test.echo": async (payload) => void seen.push(payload) });
    expect(await r.runDue()).toBe(1);
    expect(await r.runDue()).toBe(0);
    expect(seen).toEqual([{ n: 1 }]);
    expect(await jobs()).toEqual([
      { kind: "test.echo", state: "succeeded", attempts: 1, last_error: null, due: true },
    ]);
  });

  it("retries a failing job later with backoff, and gives up after its attempts", async () => {
    await submitJob(testDb.db, { kind: "test.fail", maxAttempts: 2 });
    const r = runner({
      "test.fail": async () => {
        throw new Error("the source answered 503");
      },
    });
    expect(await r.runDue()).toBe(1);
    expect(await jobs()).toEqual([
      { kind: "test.fail", state: "queued", attempts: 1, last_error: "the source answered 503", due: false },
    ]);
    expect(await r.runDue()).toBe(0);
    await testDb.db.owner.exec("UPDATE jobs SET run_at = now()");
    expect(await r.runDue()).toBe(1);
    expect((await jobs())[0]).toMatchObject({ state: "failed", attempts: 2 });
    expect(errors).toHaveLength(2);
    expect([backoffSeconds(1), backoffSeconds(2), backoffSeconds(20)]).toEqual([30, 60, 3600]);
  });

  it("leaves kinds it has no handler for to the processes that do", async () => {
    await submitJob(testDb.db, { kind: "test.elsewhere" });
    expect(await runner({}).runDue()).toBe(0);
    expect((await jobs())[0]?.state).toBe("queued");
  });

  it("queues a scheduled job once per period, however many processes run it", async () => {
    let runs = 0;
    const handlers = { "test.hourly": async () => void runs++ };
    const a = runner(handlers);
    const b = runner(handlers);
    for (const r of [a, b]) r.schedule({ kind: "test.hourly", everyMs: 3_600_000 });
    await Promise.all([a.runDue(), b.runDue()]);
    await Promise.all([a.runDue(), b.runDue()]);
    expect(runs).toBe(1);
    expect((await jobs()).map((j) => [j.kind, j.state])).toEqual([["test.hourly", "succeeded"]]);
  });

  it("does not queue a second job with the same key while one waits", async () => {
    await submitJob(testDb.db, { kind: "test.keyed", uniqueKey: "feed:nvd" });
    await submitJob(testDb.db, { kind: "test.keyed", uniqueKey: "feed:nvd" });
    expect(await jobs()).toHaveLength(1);
  });
});
