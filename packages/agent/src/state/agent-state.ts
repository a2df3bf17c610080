import { readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Inventory } from "@patchpilot/protocol";
import { ensurePrivateDir, readJson, writePrivateFile } from "./files.js";

/** The agent's own credential and where it reports to. The enrolment token is never kept. */
export interface Credentials {
  serverUrl: string;
  deviceId: string;
  organizationId: string;
  token: string;
  /** A rotated-in token, kept until the server has seen it used. */
  nextToken?: string;
}

/** The inventory the server last acknowledged: the base the agent sends changes against. */
export interface AcknowledgedInventory {
  hash: string;
  inventory: Inventory;
}

export function defaultStateDir(): string {
  if (process.platform === "win32")
    return path.join(process.env.ProgramData ?? "C:\\ProgramData", "PatchPilot", "Agent");
  if (process.platform === "darwin") return "/Library/Application Support/PatchPilot/Agent";
  return "/var/lib/patchpilot-agent";
}

/** The files in the agent's state directory (docs/agent.md lists them). */
export class AgentState {
  readonly credentialsFile: string;
  readonly caFile: string;
  readonly inventoryFile: string;
  readonly queueDir: string;

  constructor(readonly dir: string) {
    this.credentialsFile = path.join(dir, "credentials.json");
    this.caFile = path.join(dir, "ca.pem");
    this.inventoryFile = path.join(dir, "inventory.json");
    this.queueDir = path.join(dir, "queue");
  }

  async init(): Promise<void> {
    await ensurePrivateDir(this.dir);
    await ensurePrivateDir(this.queueDir);
  }

  credentials(): Promise<Credentials | null> {
    return readJson<Credentials>(this.credentialsFile);
  }

  saveCredentials(credentials: Credentials): Promise<void> {
    return writePrivateFile(this.credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`);
  }

  async caPem(): Promise<string> {
    return readFile(this.caFile, "utf8");
  }

  /** The root certificate is public; it is written once, at enrolment. */
  async saveCa(pem: string): Promise<void> {
    await writeFile(this.caFile, pem, { mode: 0o644 });
  }

  acknowledgedInventory(): Promise<AcknowledgedInventory | null> {
    return readJson<AcknowledgedInventory>(this.inventoryFile);
  }

  saveAcknowledgedInventory(value: AcknowledgedInventory): Promise<void> {
    return writePrivateFile(this.inventoryFile, JSON.stringify(value));
  }

  async forgetAcknowledgedInventory(): Promise<void> {
    await unlink(this.inventoryFile).catch(() => {});
  }
}
