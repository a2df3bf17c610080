import { VersionSyntaxError } from "./errors.js";
import { cachedParse, ParseCache } from "./parse-cache.js";
import type { Ordering, PreparedVersion, VersionComparator, VersionEcosystem } from "./types.js";

/**
 * Builds a comparator from a parser (which throws VersionSyntaxError) and a comparison of parsed
 * values, with a bounded parse cache in front so repeated strings are parsed once.
 */
export function parsedComparator<T>(
  ecosystem: VersionEcosystem,
  parse: (text: string) => T,
  compareParsed: (a: T, b: T) => Ordering,
  cacheLimit?: number,
): VersionComparator {
  const cache = new ParseCache<T>(cacheLimit);
  const load = (text: string): T => cachedParse(cache, text, parse);
  return {
    ecosystem,
    compare: (a, b) => compareParsed(load(a), load(b)),
    isValid: (version) => {
      try {
        load(version);
        return true;
      } catch (error) {
        if (error instanceof VersionSyntaxError) return false;
        throw error;
      }
    },
    assertValid: (version) => {
      load(version);
    },
    prepare: load as (text: string) => PreparedVersion,
    comparePrepared: compareParsed as (a: PreparedVersion, b: PreparedVersion) => Ordering,
  };
}
