import { randomUUID } from "node:crypto";
import { readdir, unlink } from "node:fs/promises";
import path from "node:path";
import type { AcknowledgedInventory } from "./agent-state.js";
import { readJson, writePrivateFile } from "./files.js";

/** A report waiting to be delivered: where it goes and what it says (with its report id). */
export interface QueuedReport {
  kind: "inventory_full" | "inventory_changes" | "job_result";
  method: "PUT" | "POST";
  path: string;
  body: { reportId: string } & Record<string, unknown>;
  /** For inventories: what the agent may send changes against once the server has taken this. */
  acknowledges?: AcknowledgedInventory;
}

export interface QueueEntry {
  file: string;
  report: QueuedReport;
}

/**
 * Reports the agent could not deliver yet, one file each, in the order they were made. Every
 * report carries an id, so one delivered twice (the answer was lost) is applied once by the
 * server. Inventories supersede each other: only the newest waits.
 */
export class ReportQueue {
  #counter = 0;

  constructor(private readonly dir: string) {}

  async add(report: Omit<QueuedReport, "body"> & { body: Record<string, unknown> }): Promise<QueuedReport> {
    const full: QueuedReport = { ...report, body: { reportId: randomUUID(), ...report.body } };
    if (report.kind !== "job_result") {
      for (const entry of await this.pending())
        if (entry.report.kind !== "job_result") await this.remove(entry);
    }
    const name = `${String(Date.now()).padStart(15, "0")}-${String(this.#counter++).padStart(6, "0")}-${full.body.reportId}.json`;
    await writePrivateFile(path.join(this.dir, name), JSON.stringify(full));
    return full;
  }

  /** Whether an inventory report leading to this inventory hash is already waiting. */
  async hasInventory(hash: string): Promise<boolean> {
    return (await this.pending()).some((e) => e.report.acknowledges?.hash === hash);
  }

  async pending(): Promise<QueueEntry[]> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort();
    const entries: QueueEntry[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      const report = await readJson<QueuedReport>(file);
      if (report) entries.push({ file, report });
    }
    return entries;
  }

  async remove(entry: QueueEntry): Promise<void> {
    await unlink(entry.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
}
