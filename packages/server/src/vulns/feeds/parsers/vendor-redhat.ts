/**
 * Red Hat's CSAF/CVRF conventions: a status names `platform:component`, a relationship says the
 * component (an RPM, `openssl-1:1.1.1k-7.el8_6.x86_64` or `pkg:rpm/redhat/openssl@…`) is a default
 * component of the platform (a RHEL product, `cpe:/o:redhat:enterprise_linux:8::baseos`). Each
 * such pair becomes an rpm range for `rhel:<major>`.
 */
import type { AffectedRange, RangeStatus } from "../model.js";
import { RecordError } from "./errors.js";
import { parsePurl } from "./purl.js";
import { assertRangeVersions, makeRange } from "./records.js";
import type { VendorDocument, VendorProduct } from "./vendor-document.js";

const ARCHES = new Set([
  "src",
  "noarch",
  "x86_64",
  "i386",
  "i486",
  "i586",
  "i686",
  "athlon",
  "aarch64",
  "ppc",
  "ppc64",
  "ppc64le",
  "ppc64p7",
  "s390",
  "s390x",
  "ia64",
  "armv7hl",
]);
const RPM_NAME = /^[A-Za-z0-9_][A-Za-z0-9+._-]*$/;
// name-[epoch:]version-release: version and release start with a digit, so a dashed name such as
// libvirt-daemon-kvm is not read as name "libvirt", version "daemon".
const NEVR = /^(.+?)-((?:\d+:)?\d[^-:]*)-(\d[^-]*)$/;

export interface RpmPackage {
  name: string;
  /** `[epoch:]version-release` as the source writes it; null for an unversioned component. */
  evr: string | null;
  arch: string | null;
}

/** An RPM from a Red Hat product id or file name: name, name-evr, name-evr.arch, or with `.rpm`. */
export function parseRpmProductId(text: string): RpmPackage | null {
  let rest = text.trim().replace(/\.rpm$/, "");
  let arch: string | null = null;
  const dot = rest.lastIndexOf(".");
  if (dot > 0 && ARCHES.has(rest.slice(dot + 1))) {
    arch = rest.slice(dot + 1);
    rest = rest.slice(0, dot);
  }
  const match = NEVR.exec(rest);
  if (match?.[1] !== undefined && match[2] !== undefined && match[3] !== undefined) {
    return RPM_NAME.test(match[1]) ? { name: match[1], evr: `${match[2]}-${match[3]}`, arch } : null;
  }
  return RPM_NAME.test(rest) ? { name: rest, evr: null, arch } : null;
}

function rpmOfComponent(component: VendorProduct | undefined, componentId: string): RpmPackage {
  if (component?.purl) {
    const purl = parsePurl(component.purl);
    if (purl === null)
      throw new RecordError(`component ${componentId}: unreadable purl ${component.purl.slice(0, 120)}`);
    if (purl.type !== "rpm")
      throw new RecordError(`component ${componentId} is not an RPM (purl type ${purl.type})`);
    const epoch = purl.qualifiers.get("epoch");
    const evr =
      purl.version === null ? null : epoch === undefined ? purl.version : `${epoch}:${purl.version}`;
    return { name: purl.name, evr, arch: purl.qualifiers.get("arch") ?? null };
  }
  // CVRF names carry the arch the id leaves out ("samba-3.0.33-3.39.el5_8.src.rpm").
  const fromName = component === undefined ? null : parseRpmProductId(component.name);
  if (fromName !== null && fromName.arch !== null && fromName.evr !== null) return fromName;
  const parsed = parseRpmProductId(componentId);
  if (parsed === null) throw new RecordError(`component ${componentId.slice(0, 120)} is not an RPM name`);
  return parsed;
}

/** The RHEL major release a platform product stands for, or null when it is not RHEL. */
export function rhelMajor(platform: VendorProduct | undefined, platformId: string): string | null {
  const cpe = platform?.cpe ?? "";
  const fromCpe = /^cpe:\/[ao]:redhat:(?:enterprise_linux|rhel_[a-z0-9_]+):(\d+)/.exec(cpe)?.[1];
  if (fromCpe !== undefined) return fromCpe;
  const fromName = /(?:Red Hat Enterprise Linux|RHEL)\b[^()]*\(v\. (\d+)/.exec(platform?.name ?? "")?.[1];
  if (fromName !== undefined) return fromName;
  // CVRF-era product ids: 5Server-5.6.EUS, 6Workstation-optional-6.2.z.
  return /^(\d+)(?:Server|Client|Workstation|ComputeNode)\b/.exec(platformId)?.[1] ?? null;
}

export interface RangeContext {
  status: RangeStatus;
  advisoryId: string | null;
  vendorSeverity: AffectedRange["vendorSeverity"];
}

/** The rpm range for one `platform:component` product id; RecordError when it is not one. */
export function redHatRange(doc: VendorDocument, productId: string, context: RangeContext): AffectedRange {
  const relationship = doc.relationships.get(productId);
  if (relationship === undefined)
    throw new RecordError(`product ${productId.slice(0, 120)} is not a component of a platform`);
  const major = rhelMajor(doc.products.get(relationship.platformId), relationship.platformId);
  if (major === null) {
    const name = doc.products.get(relationship.platformId)?.name ?? relationship.platformId;
    throw new RecordError(`platform "${name.slice(0, 120)}" is not a Red Hat Enterprise Linux release`);
  }
  const rpm = rpmOfComponent(doc.products.get(relationship.componentId), relationship.componentId);
  if (context.status === "fixed" && rpm.evr === null) {
    throw new RecordError(`fixed component ${relationship.componentId.slice(0, 120)} has no version`);
  }
  const range = makeRange({
    ecosystem: "rpm",
    release: `rhel:${major}`,
    packageName: rpm.name,
    packageScope: rpm.arch === "src" ? "source" : "binary",
    status: context.status,
    fixed: context.status === "fixed" ? rpm.evr : null,
    advisoryId: context.advisoryId,
    vendorSeverity: context.vendorSeverity,
  });
  assertRangeVersions(range);
  return range;
}
