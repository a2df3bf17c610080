import { join } from "node:path";
import { readOptionalFile } from "./os-release.js";

/** The protocol's HardwareId pattern and length bounds (packages/protocol/src/facts.ts). */
const HARDWARE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function isValidHardwareId(value: string): boolean {
  return HARDWARE_ID.test(value);
}

/**
 * systemd's /etc/machine-id, else the D-Bus copy that older and systemd-less systems keep.
 * systemd writes `uninitialized` (or leaves it empty) until first boot completes, which is not an id.
 */
export async function readLinuxMachineId(root: string): Promise<string> {
  for (const path of ["etc/machine-id", "var/lib/dbus/machine-id"]) {
    const id = (await readOptionalFile(join(root, path)))?.trim() ?? "";
    if (id !== "" && id !== "uninitialized" && isValidHardwareId(id)) return id;
  }
  throw new Error(
    `no usable machine id in ${join(root, "etc/machine-id")} or ${join(root, "var/lib/dbus/machine-id")}`,
  );
}
