/**
 * OSV `ranges[].events` turned into introduced/fixed pairs, the way the OSV specification's
 * evaluation algorithm reads them: events sorted by version ("0" first), an `introduced` opens an
 * affected interval, a `fixed` or `last_affected` closes it, and an interval still open at the end
 * has no fix.
 */
import { compareVersions } from "@patchpilot/domain";
import type { RangeEcosystem } from "../model.js";
import { RecordError } from "./errors.js";
import { describeType, type JsonObject, objectArray, optionalString } from "./json.js";
import { versionProblem } from "./records.js";

type EventKind = "introduced" | "fixed" | "last_affected" | "limit";
const EVENT_KINDS: readonly EventKind[] = ["introduced", "fixed", "last_affected", "limit"];

interface OsvEvent {
  kind: EventKind;
  version: string;
}

export interface OsvInterval {
  introduced: string | null;
  fixed: string | null;
  lastAffected: string | null;
}

export interface OsvIntervals {
  intervals: OsvInterval[];
  /** Why some intervals could not be kept (limit events), one message each. */
  dropped: string[];
}

function readEvent(event: JsonObject, path: string): OsvEvent {
  const kinds = EVENT_KINDS.filter((kind) => Object.hasOwn(event, kind));
  const kind = kinds[0];
  if (kind === undefined || kinds.length > 1) {
    throw new RecordError(`${path}: expected exactly one of ${EVENT_KINDS.join(", ")}`);
  }
  const version = optionalString(event, kind, `${path}.${kind}`);
  if (version === null || version === "") throw new RecordError(`${path}.${kind}: missing version`);
  return { kind, version };
}

/**
 * The intervals of one ECOSYSTEM or SEMVER range. A version the ecosystem's comparator refuses
 * makes the whole range unusable (RecordError), since its order cannot be known.
 */
export function osvIntervals(range: JsonObject, ecosystem: RangeEcosystem, path: string): OsvIntervals {
  const events = objectArray(range, "events", `${path}.events`)
    .map((event, i) => readEvent(event, `${path}.events[${i}]`))
    // limit "*" is the spec's spelling of "no limit".
    .filter((event) => !(event.kind === "limit" && event.version === "*"));
  if (events.length === 0) throw new RecordError(`${path}.events: empty`);
  for (const event of events) {
    if (event.kind === "introduced" && event.version === "0") continue;
    const problem = versionProblem(ecosystem, event.version);
    if (problem !== null) throw new RecordError(`${path}: ${problem}`);
  }
  const order = (e: OsvEvent): string | null =>
    e.kind === "introduced" && e.version === "0" ? null : e.version;
  const sorted = [...events].sort((a, b) => {
    const va = order(a);
    const vb = order(b);
    if (va === null || vb === null) return va === vb ? 0 : va === null ? -1 : 1;
    return compareVersions(ecosystem, va, vb);
  });

  const intervals: OsvInterval[] = [];
  const dropped: string[] = [];
  let open: string | null | undefined; // undefined = not inside an affected interval
  for (const event of sorted) {
    if (event.kind === "introduced") {
      if (open === undefined) open = event.version === "0" ? null : event.version;
    } else if (open !== undefined) {
      if (event.kind === "fixed")
        intervals.push({ introduced: open, fixed: event.version, lastAffected: null });
      else if (event.kind === "last_affected") {
        intervals.push({ introduced: open, fixed: null, lastAffected: event.version });
      } else {
        // An exclusive upper bound that is not a fix has no place in AffectedRange.
        dropped.push(
          `${path}: interval from ${open ?? "0"} ends at limit ${event.version}, which the model cannot express`,
        );
      }
      open = undefined;
    }
  }
  if (open !== undefined) intervals.push({ introduced: open, fixed: null, lastAffected: null });
  return { intervals, dropped };
}

/** The range's type, for the caller to decide whether it is a version range at all. */
export function osvRangeType(range: JsonObject, path: string): string {
  const type = optionalString(range, "type", `${path}.type`);
  if (type === null) throw new RecordError(`${path}.type: missing (found ${describeType(range.type)})`);
  return type;
}
