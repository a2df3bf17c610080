import { AppError } from "../../http/errors.js";

export type SsoDefaultRole = "admin" | "operator" | "auditor";

/** Allowed email domains, lower-cased, without duplicates; a malformed one names its field. */
export function normalizeDomains(domains: readonly string[]): string[] {
  const out = new Set<string>();
  for (const [i, raw] of domains.entries()) {
    const domain = raw.trim().toLowerCase();
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain)) {
      throw new AppError("request.invalid", {
        field: `body/allowedDomains/${i}`,
        message: `${JSON.stringify(raw.slice(0, 100))} is not a domain name.`,
      });
    }
    out.add(domain);
  }
  return [...out];
}

/** An identity provider's address: https only (its answers decide who signs in), no credentials, query or fragment. */
export function parseProviderUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError("request.invalid", { field, message: `${field.split("/").pop()} is not a URL.` });
  }
  if (url.protocol !== "https:" || url.username || url.password || url.hash || url.search) {
    throw new AppError("request.invalid", {
      field,
      message: `${field.split("/").pop()} must be an https:// URL without credentials, query or fragment.`,
    });
  }
  return url;
}
