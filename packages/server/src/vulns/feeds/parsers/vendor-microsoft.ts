/**
 * Microsoft's conventions (MSRC CVRF, and CSAF documents published by Microsoft): a "Vendor Fix"
 * remediation names a KB update for some products, by number in its description (`5034441`) or in
 * its catalogue URL (`?q=KB5034441`), optionally with the build the update brings the product to
 * (`10.0.22631.3007`) and the updates it supersedes. Each becomes a windows-kb range, and the
 * build a second, windows, range.
 */
import type { AffectedRange, RangeStatus, Severity } from "../model.js";
import { makeRange, versionProblem } from "./records.js";
import type { VendorRemediation } from "./vendor-document.js";

/** The package name of the Windows operating system entry in an agent's inventory. */
export const WINDOWS_OS_PACKAGE = "windows";

const KB_NUMBER = /^(?:KB)?(\d{6,8})$/i;

/** The knowledge-base id a remediation names (`KB5034441`), from its description or URL. */
export function kbOfRemediation(remediation: VendorRemediation): string | null {
  const details = remediation.details?.trim() ?? "";
  const bare = KB_NUMBER.exec(details)?.[1];
  if (bare !== undefined) return `KB${bare}`;
  const inText = /\bKB(\d{6,8})\b/i.exec(details)?.[1];
  if (inText !== undefined) return `KB${inText}`;
  const url = remediation.url ?? "";
  const inUrl =
    /[?&]q=KB(\d{6,8})\b/i.exec(url)?.[1] ??
    /support\.microsoft\.com\/(?:[a-z-]+\/)?help\/(\d{6,8})\b/i.exec(url)?.[1];
  return inUrl === undefined ? null : `KB${inUrl}`;
}

/** KB ids in a supersedence field ("5033375", "KB5033375; KB5032190") or after "Supersedes:" in text. */
export function supersededKbs(remediation: VendorRemediation): string[] {
  const source =
    remediation.supersedence ??
    /\b(?:supersedes|supersedence|supercedence|replaces)\b\s*:?\s*((?:KB)?\d{6,8}(?:\s*[,;]?\s*(?:and\s+)?(?:KB)?\d{6,8})*)/i.exec(
      remediation.details ?? "",
    )?.[1] ??
    "";
  const kbs = [...source.matchAll(/(?:KB)?(\d{6,8})/gi)].map((m) => `KB${m[1]}`);
  return [...new Set(kbs)];
}

/** The fixed build from the remediation's own field or a "Fixed build: 10.0.…" phrase. */
export function fixedBuildOf(remediation: VendorRemediation): string | null {
  const build =
    remediation.fixedBuild?.trim() ??
    /\bfixed build\s*:?\s*(\d+(?:\.\d+){1,3})\b/i.exec(remediation.details ?? "")?.[1] ??
    null;
  return build !== null && versionProblem("windows", build) === null ? build : null;
}

/** Product names compared case- and space-insensitively: "windows 11 version 23h2 for x64-based systems". */
export function normalizedProductName(name: string): string {
  return name.trim().replace(/\s+/g, " ").toLowerCase();
}

/** `windows:10.0.22631` for a Windows product fixed in build 10.0.22631.x; null otherwise. */
function windowsRelease(productName: string, build: string | null): string | null {
  if (build === null || !/^windows\b/i.test(productName)) return null;
  const parts = build.split(".");
  return parts.length >= 3 ? `windows:${parts.slice(0, 3).join(".")}` : null;
}

export interface MicrosoftProduct {
  name: string;
  status: RangeStatus;
  vendorSeverity: Severity | null;
}

/** The ranges one Microsoft product gets from the vendor fixes that name it. */
export function microsoftRanges(
  product: MicrosoftProduct,
  fixes: readonly VendorRemediation[],
): AffectedRange[] {
  const packageName = normalizedProductName(product.name);
  const base = { packageName, packageScope: "binary" as const, vendorSeverity: product.vendorSeverity };
  const fixing = product.status === "affected" || product.status === "fixed";
  const ranges: AffectedRange[] = [];
  for (const fix of fixing ? fixes : []) {
    const kb = kbOfRemediation(fix);
    const build = fixedBuildOf(fix);
    const release = windowsRelease(product.name, build);
    if (kb !== null) {
      ranges.push(
        makeRange({
          ...base,
          ecosystem: "windows-kb",
          release,
          status: "fixed",
          fixed: kb,
          advisoryId: kb,
          supersedes: supersededKbs(fix),
        }),
      );
    }
    if (build !== null) {
      // A Windows build range is about the operating system of that build line, whatever the
      // edition or architecture in the product's name: it is keyed as the agent reports the OS.
      const osName = release !== null ? WINDOWS_OS_PACKAGE : packageName;
      ranges.push(
        makeRange({
          ...base,
          packageName: osName,
          ecosystem: "windows",
          release,
          status: "fixed",
          fixed: build,
          advisoryId: kb,
        }),
      );
    }
  }
  // No update named (yet), or a status that needs none: the status alone, keyed by product name.
  if (ranges.length === 0)
    ranges.push(makeRange({ ...base, ecosystem: "windows-kb", release: null, status: product.status }));
  return ranges;
}
