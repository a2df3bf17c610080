import type { VersionEcosystem } from "./types.js";

/** A version string the ecosystem's own tool would refuse; `reason` says why in that tool's terms. */
export class VersionSyntaxError extends Error {
  override readonly name = "VersionSyntaxError";
  readonly ecosystem: VersionEcosystem;
  readonly version: string;
  readonly reason: string;

  constructor(ecosystem: VersionEcosystem, version: string, reason: string) {
    super(`invalid ${ecosystem} version ${JSON.stringify(version)}: ${reason}`);
    this.ecosystem = ecosystem;
    this.version = version;
    this.reason = reason;
  }
}
