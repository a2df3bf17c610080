import { PackageURL } from "packageurl-js";

/** What a purl is made from: a catalogue entry (or a finding's package at a given version). */
export interface PurlInput {
  ecosystem: string;
  /** `debian:12`, `rhel:9`, `alpine:3.19`; empty for language ecosystems. */
  release: string;
  name: string;
  version: string;
  arch: string;
}

// RPM distributions' purl namespaces are their vendors (the purl-spec's rpm examples).
const RPM_VENDORS: Readonly<Record<string, string>> = {
  rhel: "redhat",
  sles: "suse",
  amzn: "amazon",
  ol: "oracle",
};

function splitLast(name: string, separator: string): [string | null, string] {
  const at = name.lastIndexOf(separator);
  return at > 0 ? [name.slice(0, at), name.slice(at + 1)] : [null, name];
}

function osQualifiers(input: PurlInput, extra: Record<string, string> = {}): Record<string, string> {
  const [distribution, version] = input.release.split(":");
  return {
    ...(input.arch ? { arch: input.arch } : {}),
    ...(distribution && version ? { distro: `${distribution}-${version}` } : {}),
    ...extra,
  };
}

function parts(input: PurlInput): ConstructorParameters<typeof PackageURL> | null {
  const distribution = input.release.split(":")[0] || null;
  switch (input.ecosystem) {
    case "dpkg":
      return ["deb", distribution, input.name, input.version, osQualifiers(input)];
    case "apk":
      return ["apk", distribution, input.name, input.version, osQualifiers(input)];
    case "rpm": {
      // The purl-spec keeps an rpm epoch in a qualifier, not in the version.
      const epoch = /^(\d+):(.+)$/.exec(input.version);
      const vendor = distribution ? (RPM_VENDORS[distribution] ?? distribution) : null;
      return [
        "rpm",
        vendor,
        input.name,
        epoch?.[2] ?? input.version,
        osQualifiers(input, epoch?.[1] ? { epoch: epoch[1] } : {}),
      ];
    }
    case "npm": {
      const [scope, name] = input.name.startsWith("@") ? splitLast(input.name, "/") : [null, input.name];
      return ["npm", scope, name, input.version];
    }
    case "maven": {
      const [group, artifact] = splitLast(input.name, ":");
      return ["maven", group, artifact, input.version];
    }
    case "go": {
      const [path, name] = splitLast(input.name, "/");
      return ["golang", path, name, input.version];
    }
    case "pypi":
    case "cargo":
    case "nuget":
      return [input.ecosystem, null, input.name, input.version];
    default:
      // Windows programs, hotfixes and macOS apps have no package-URL type.
      return null;
  }
}

/**
 * The package URL of an installed package (`pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`),
 * or null where the ecosystem has no purl type or the entry cannot be written as one.
 */
export function purlOf(input: PurlInput): string | null {
  const args = parts(input);
  if (!args) return null;
  try {
    return new PackageURL(...args).toString();
  } catch {
    return null;
  }
}

/** A product identifier for VEX, which needs one for everything: the purl, or a generic one. */
export function productPurl(input: PurlInput): string {
  return purlOf(input) ?? new PackageURL("generic", null, input.name, input.version).toString();
}
