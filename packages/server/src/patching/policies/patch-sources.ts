import type { PatchSource } from "@patchpilot/protocol";
import type { Database } from "../../db/database.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

export interface PatchSourceConflict {
  deviceId: string;
  hostname: string;
  /** The mechanisms that install updates on their own, beside PatchPilot. */
  others: PatchSource[];
  /** Mechanisms whose setting the agent could not read (automatic installs unknown). */
  unknown: PatchSource[];
}

/**
 * Devices where PatchPilot may not be the only thing patching: the agent reports each patch
 * source it finds (unattended-upgrades, dnf-automatic, the Windows Update policy, macOS automatic
 * updates) and whether it installs on its own. A device under a patch policy should have none that
 * does, or the console's account of what was installed when is not the whole story.
 */
export async function patchSourceConflicts(
  db: Database,
  ctx: RequestContext,
): Promise<PatchSourceConflict[]> {
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    const rows = await tx.db
      .selectFrom("devices")
      .select(["id", "hostname", "patch_sources"])
      .where("retired_at", "is", null)
      .orderBy("hostname")
      .execute();
    const out: PatchSourceConflict[] = [];
    for (const r of rows) {
      const sources = (r.patch_sources ?? []) as PatchSource[];
      const others = sources.filter((s) => s.automaticInstall === true);
      const unknown = sources.filter((s) => s.automaticInstall === null);
      if (others.length > 0 || unknown.length > 0)
        out.push({ deviceId: r.id, hostname: r.hostname, others, unknown });
    }
    return out;
  });
}
