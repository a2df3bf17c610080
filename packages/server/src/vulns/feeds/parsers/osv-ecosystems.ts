/**
 * OSV ecosystem strings (https://ossf.github.io/osv-schema/#affectedpackage-field) mapped to the
 * model's version ecosystem and the agent's release spelling. Distribution ecosystems name source
 * packages (Debian, Ubuntu, Alpine) or binary ones (the RPM distributions).
 */
import type { AffectedRange, RangeEcosystem } from "../model.js";
import { debianRelease } from "./debian-releases.js";

export interface OsvEcosystem {
  ecosystem: RangeEcosystem;
  release: string | null;
  packageScope: AffectedRange["packageScope"];
}

const LANGUAGES: ReadonlyMap<string, RangeEcosystem> = new Map([
  ["npm", "npm"],
  ["PyPI", "pypi"],
  ["Maven", "maven"],
  ["Go", "go"],
  ["crates.io", "cargo"],
  ["NuGet", "nuget"],
]);

const binary = (ecosystem: RangeEcosystem, release: string): OsvEcosystem => ({
  ecosystem,
  release,
  packageScope: "binary",
});
const source = (ecosystem: RangeEcosystem, release: string): OsvEcosystem => ({
  ecosystem,
  release,
  packageScope: "source",
});

/** `Ubuntu:22.04:LTS`, `Ubuntu:Pro:18.04:LTS`, `Ubuntu:Pro:FIPS:20.04:LTS` → `ubuntu:22.04`. */
function ubuntu(parts: readonly string[]): OsvEcosystem | null {
  const version = parts.find((part) => /^\d{2}\.\d{2}$/.test(part));
  return version === undefined ? null : source("dpkg", `ubuntu:${version}`);
}

/** `Red Hat:enterprise_linux:9::baseos`, `Red Hat:rhel_eus:9.2::appstream` → `rhel:9`; other products are not RHEL. */
function redHat(parts: readonly string[]): OsvEcosystem | null {
  const [product, version] = parts;
  if (product === undefined || version === undefined) return null;
  if (product !== "enterprise_linux" && !product.startsWith("rhel")) return null;
  const major = /^(\d+)(?:\.\d+)*$/.exec(version)?.[1];
  return major === undefined ? null : binary("rpm", `rhel:${major}`);
}

/**
 * `SUSE:Linux Enterprise Server 15 SP5` → `sles:15.5`, `…Server 15` → `sles:15`. Modules
 * ("Linux Enterprise Module for Basesystem 15 SP5") are installed on SLES of the same service
 * pack, so they map to it too; Desktop, Micro and the rest are other products and are not mapped.
 */
function suse(product: string): OsvEcosystem | null {
  if (!/^Linux Enterprise (?:Server|Module for)\b/.test(product)) return null;
  const match = /\b(\d{2})(?: SP(\d+))?\b/.exec(product);
  if (match === null) return null;
  return binary("rpm", match[2] === undefined ? `sles:${match[1]}` : `sles:${match[1]}.${match[2]}`);
}

/** The model's view of an OSV ecosystem string, or null when PatchPilot cannot match it. */
export function mapOsvEcosystem(value: string): OsvEcosystem | null {
  const language = LANGUAGES.get(value);
  if (language !== undefined) return { ecosystem: language, release: null, packageScope: "binary" };
  const [name, ...parts] = value.split(":");
  const first = parts[0];
  switch (name) {
    case "Debian": {
      const release = first === undefined ? null : debianRelease(first);
      return release === null ? null : source("dpkg", release);
    }
    case "Ubuntu":
      return ubuntu(parts);
    case "Alpine": {
      const version = first === undefined ? undefined : /^v(\d+\.\d+)$/.exec(first)?.[1];
      return version === undefined ? null : source("apk", `alpine:${version}`);
    }
    case "Red Hat":
      return redHat(parts);
    case "Rocky Linux":
    case "AlmaLinux": {
      const major = first === undefined ? undefined : /^(\d+)(?:\.\d+)?$/.exec(first)?.[1];
      if (major === undefined) return null;
      return binary("rpm", `${name === "AlmaLinux" ? "almalinux" : "rocky"}:${major}`);
    }
    case "SUSE":
      return first === undefined ? null : suse(parts.join(":"));
    case "openSUSE": {
      const version = first === undefined ? undefined : /^Leap (\d+\.\d+)$/.exec(first)?.[1];
      return version === undefined ? null : binary("rpm", `opensuse-leap:${version}`);
    }
    default:
      return null;
  }
}
