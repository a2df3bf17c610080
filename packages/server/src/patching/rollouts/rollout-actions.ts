import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

type Action = "pause" | "resume" | "cancel" | "approve";

const FINISHED = new Set(["completed", "canceled"]);

/**
 * A person's hand on a running rollout: pause (nothing new is queued; jobs already with devices
 * finish), resume, cancel (queued jobs are withdrawn; nothing more is sent), approve the ring
 * waiting for it. Each is audited with who and why.
 */
export async function actOnRollout(
  db: Database,
  ctx: RequestContext,
  rolloutId: string,
  action: Action,
  reason: string | undefined,
): Promise<void> {
  await db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    const rollout = await tx.db
      .selectFrom("rollouts")
      .select(["state", "current_ring"])
      .where("id", "=", rolloutId)
      .forUpdate()
      .executeTakeFirst();
    if (!rollout) throw new AppError("rollouts.not_found");
    if (FINISHED.has(rollout.state)) throw new AppError("rollouts.finished");
    const now = new Date();
    const details: Record<string, unknown> = reason ? { reason } : {};
    switch (action) {
      case "pause":
        if (rollout.state !== "running") throw new AppError("rollouts.not_running");
        await tx.db
          .updateTable("rollouts")
          .set({ state: "paused", updated_at: now })
          .where("id", "=", rolloutId)
          .execute();
        break;
      case "resume":
        if (rollout.state !== "paused" && rollout.state !== "halted")
          throw new AppError("rollouts.not_paused");
        await tx.db
          .updateTable("rollouts")
          .set({ state: "running", halted_reason: null, updated_at: now })
          .where("id", "=", rolloutId)
          .execute();
        if (rollout.state === "halted") {
          // A halted ring is measured again from where it stands: failed devices are tried again.
          await tx.db
            .updateTable("rollout_rings")
            .set({ state: "active", settled_at: null })
            .where("rollout_id", "=", rolloutId)
            .where("position", "=", rollout.current_ring)
            .execute();
          await tx.db
            .updateTable("rollout_devices")
            .set({ state: "pending", attempts: 0, health: null, verified: null, updated_at: now })
            .where("rollout_id", "=", rolloutId)
            .where("ring", "=", rollout.current_ring)
            .where("state", "=", "failed")
            .execute();
          details.resumedFromHalt = true;
        }
        break;
      case "cancel": {
        await tx.db
          .updateTable("rollouts")
          .set({ state: "canceled", finished_at: now, updated_at: now })
          .where("id", "=", rolloutId)
          .execute();
        const withdrawn = await tx.db
          .updateTable("device_jobs")
          .set({ state: "canceled", completed_at: now })
          .where("state", "=", "queued")
          .where("id", "in", (eb) =>
            eb
              .selectFrom("rollout_devices")
              .select("job_id")
              .where("rollout_id", "=", rolloutId)
              .where("job_id", "is not", null),
          )
          .returning("device_id")
          .execute();
        await tx.db
          .updateTable("rollout_devices")
          .set({ state: "skipped", reason: "the rollout was canceled", updated_at: now })
          .where("rollout_id", "=", rolloutId)
          .where("state", "in", ["pending", "waiting_window", "queued"])
          .execute();
        details.jobsWithdrawn = withdrawn.length;
        break;
      }
      case "approve": {
        const ring = await tx.db
          .selectFrom("rollout_rings")
          .select(["name", "state"])
          .where("rollout_id", "=", rolloutId)
          .where("position", "=", rollout.current_ring)
          .executeTakeFirstOrThrow();
        if (ring.state !== "awaiting_approval") throw new AppError("rollouts.not_awaiting_approval");
        await tx.db
          .updateTable("rollout_rings")
          .set({ approved_at: now, approved_by: ctx.actor.type === "user" ? ctx.actor.id : null })
          .where("rollout_id", "=", rolloutId)
          .where("position", "=", rollout.current_ring)
          .execute();
        details.ring = ring.name;
        break;
      }
    }
    tx.audit({
      action: `rollouts.${action === "approve" ? "approved" : `${action}${action.endsWith("e") ? "d" : "ed"}`}`,
      target: { type: "rollout", id: rolloutId },
      details,
    });
  });
}
