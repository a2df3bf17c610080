import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { AppError } from "../../http/errors.js";

/**
 * Where an alert webhook may go. A tenant's Admin chooses the URL and the server makes the request,
 * so the URL must not reach the server's own network: https only, and no address that is
 * loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast or reserved
 * — checked on the URL when the rule is saved and again on every address the name resolves to
 * when a notice is sent (so a name that later points inside is refused too). Loopback (over http
 * too) is allowed only when the operator turns it on, for single-host setups and tests.
 */
const INTERNAL_V4 = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  INTERNAL_V4.addSubnet(network, prefix, "ipv4");
}
// Kept apart from the IPv4 list: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules.
const INTERNAL_V6 = new BlockList();
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  // NAT64 forms of IPv4 addresses (IPv4-mapped ones are refused below): a public host is reached by
  // its own address.
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  INTERNAL_V6.addSubnet(network, prefix, "ipv6");
}

const LOOPBACK_V4 = new BlockList();
LOOPBACK_V4.addSubnet("127.0.0.0", 8, "ipv4");

function family(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return LOOPBACK_V4.check(address, "ipv4");
  return isIP(address) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(address);
}

/** Whether a webhook may connect to this address. */
export function mayConnectTo(address: string, allowLoopback: boolean): boolean {
  if (isIP(address) === 0) return false;
  if (allowLoopback && isLoopbackAddress(address)) return true;
  if (family(address) === "ipv4") return !INTERNAL_V4.check(address, "ipv4");
  if (/^(0{0,4}:){0,5}:?ffff:/i.test(address)) return false; // IPv4-mapped
  return !INTERNAL_V6.check(address, "ipv6");
}

const INTERNAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/i;

function invalid(message: string): AppError {
  return new AppError("request.invalid", { field: "webhook.url", message });
}

/** Checks a webhook URL as it is saved; the answer names what is wrong. */
export function checkWebhookUrl(raw: string, allowLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid("webhook.url is not a URL.");
  }
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const loopback = isLoopbackAddress(host) || host === "localhost";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && allowLoopback && loopback)) {
    throw invalid("webhook.url must start with https://.");
  }
  if (url.username !== "" || url.password !== "") {
    throw invalid(
      "webhook.url must not hold a user name or password; the signature authenticates the sender.",
    );
  }
  if (allowLoopback && loopback) return url;
  if (isIP(host) !== 0) {
    if (!mayConnectTo(host, false)) throw invalid("webhook.url points to an internal address.");
  } else if (!host.includes(".") || INTERNAL_NAMES.test(host)) {
    throw invalid("webhook.url points to an internal host name.");
  }
  return url;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http(s).request that refuses a name resolving to an internal address, so the
 * check holds for the address actually connected to (no second resolution in between).
 */
export function guardedLookup(allowLoopback: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = addresses.find((a) => !mayConnectTo(a.address, allowLoopback));
      if (refused || addresses.length === 0) {
        const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to an internal address; not sent`);
        e.code = "EADDRNOTAVAIL";
        return callback(e, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}
