/**
 * Maven versions, ordered as Maven's own `ComparableVersion` (maven-artifact, Maven 3.9) orders
 * them. The string is lowercased and cut into items at `.`, at `-`, and where digits meet letters;
 * a `-` or a letter/digit switch opens a nested list. Numbers compare numerically (any size);
 * qualifiers order alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp,
 * with unknown qualifiers after those, alphabetically; `a1`, `b1`, `m1` mean alpha-1, beta-1,
 * milestone-1. Trailing "null" items (0, "", ga, final, release) are dropped, so 1 = 1.0 = 1-ga.
 * Across types: number > list > qualifier; a missing item compares as null (1.0 = 1, 1-rc < 1).
 *
 * Maven itself accepts any string; here the empty string and characters outside printable ASCII
 * are refused, since no artifact repository serves such versions and Java's locale-specific
 * lowercasing and Unicode digits would make them hard to compare exactly.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";

type Item =
  | { readonly kind: "number"; readonly digits: string }
  | { readonly kind: "qualifier"; readonly value: string }
  | { readonly kind: "list"; readonly items: Item[] };

export type MavenVersion = Item & { readonly kind: "list" };

const QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const ALIASES: Readonly<Record<string, string>> = { ga: "", final: "", release: "", cr: "rc" };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(""));

/** Maven's comparableQualifier(): known qualifiers by index, unknown ones after them by name. */
function comparable(qualifier: string): string {
  const index = QUALIFIERS.indexOf(qualifier);
  return index === -1 ? `${QUALIFIERS.length}-${qualifier}` : String(index);
}

function compareStrings(a: string, b: string): Ordering {
  return a === b ? 0 : a < b ? -1 : 1;
}

function qualifier(value: string, followedByDigit: boolean): Item {
  let name = value;
  if (followedByDigit && name.length === 1) {
    name = name === "a" ? "alpha" : name === "b" ? "beta" : name === "m" ? "milestone" : name;
  }
  return { kind: "qualifier", value: ALIASES[name] ?? name };
}

function numberItem(digits: string): Item {
  return { kind: "number", digits: digits.replace(/^0+(?=.)/, "") };
}

function isNull(item: Item): boolean {
  if (item.kind === "number") return item.digits === "0";
  if (item.kind === "qualifier") return comparable(item.value) === RELEASE_INDEX;
  return item.items.length === 0;
}

/** ListItem.normalize(): drop trailing null items, looking past (non-null) nested lists. */
function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i];
    if (last === undefined) continue;
    if (isNull(last)) list.splice(i, 1);
    else if (last.kind !== "list") break;
  }
}

/** Item.compareTo(item), where `b` null stands for a missing item. */
function compareItems(a: Item, b: Item | null): Ordering {
  if (a.kind === "number") {
    if (b === null) return a.digits === "0" ? 0 : 1;
    return b.kind === "number" ? compareDigitStrings(a.digits, b.digits) : 1;
  }
  if (a.kind === "qualifier") {
    if (b === null) return compareStrings(comparable(a.value), RELEASE_INDEX);
    if (b.kind === "qualifier") return compareStrings(comparable(a.value), comparable(b.value));
    return -1;
  }
  if (b === null) {
    for (const item of a.items) {
      const order = compareItems(item, null);
      if (order !== 0) return order;
    }
    return 0;
  }
  if (b.kind === "number") return -1;
  if (b.kind === "qualifier") return 1;
  const length = Math.max(a.items.length, b.items.length);
  for (let i = 0; i < length; i++) {
    const left = a.items[i] ?? null;
    const right = b.items[i] ?? null;
    const order =
      left === null
        ? right === null
          ? 0
          : (-compareItems(right, null) as Ordering)
        : compareItems(left, right);
    if (order !== 0) return order;
  }
  return 0;
}

function refuse(input: string, reason: string): never {
  throw new VersionSyntaxError("maven", input, reason);
}

/** ComparableVersion.parseVersion(), step for step. */
export function parseMavenVersion(input: string): MavenVersion {
  if (input === "") refuse(input, "version string is empty");
  if (!/^[\x21-\x7e]+$/.test(input)) refuse(input, "only printable ASCII without spaces is accepted");
  const version = input.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  const openList = (): void => {
    const nested: Item[] = [];
    list.push({ kind: "list", items: nested });
    list = nested;
    stack.push(nested);
  };
  let isDigit = false;
  let start = 0;
  const parseItem = (digits: boolean, text: string): Item =>
    digits ? numberItem(text) : qualifier(text, false);

  for (let i = 0; i < version.length; i++) {
    const c = version.charCodeAt(i);
    if (c === 46 /* . */ || c === 45 /* - */) {
      list.push(i === start ? numberItem("0") : parseItem(isDigit, version.slice(start, i)));
      start = i + 1;
      if (c === 45) openList();
    } else if (c >= 48 && c <= 57) {
      if (!isDigit && i > start) {
        // 1.0.0.X1 < 1.0.0-X2: a qualifier after a dot is treated as if after a hyphen.
        if (list.length > 0) openList();
        list.push(qualifier(version.slice(start, i), true));
        start = i;
        openList();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, version.slice(start, i)));
        start = i;
        openList();
      }
      isDigit = false;
    }
  }
  if (version.length > start) {
    if (!isDigit && list.length > 0) openList();
    list.push(parseItem(isDigit, version.slice(start)));
  }
  for (let nested = stack.pop(); nested !== undefined; nested = stack.pop()) normalize(nested);
  return { kind: "list", items: root };
}

export function compareParsedMavenVersions(a: MavenVersion, b: MavenVersion): Ordering {
  return compareItems(a, b);
}

export const mavenComparator: VersionComparator = parsedComparator(
  "maven",
  parseMavenVersion,
  compareParsedMavenVersions,
);
