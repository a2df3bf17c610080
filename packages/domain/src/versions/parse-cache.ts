/**
 * A bounded memo of parsed versions. Inventories and advisories repeat the same few thousand
 * strings, so a matching loop parses each one once. When full it starts over: that keeps memory
 * flat without paying LRU bookkeeping on every hit. Only successful parses are kept.
 */
export class ParseCache<T> {
  readonly #entries = new Map<string, T>();
  readonly #limit: number;

  constructor(limit = 8192) {
    this.#limit = limit;
  }

  get(text: string): T | undefined {
    return this.#entries.get(text);
  }

  set(text: string, parsed: T): void {
    if (this.#entries.size >= this.#limit) this.#entries.clear();
    this.#entries.set(text, parsed);
  }
}

/** Parses through the cache: `parse` runs only for strings not seen recently. */
export function cachedParse<T>(cache: ParseCache<T>, text: string, parse: (text: string) => T): T {
  let parsed = cache.get(text);
  if (parsed === undefined) {
    parsed = parse(text);
    cache.set(text, parsed);
  }
  return parsed;
}
