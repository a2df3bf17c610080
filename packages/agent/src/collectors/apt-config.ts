import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readOptionalFile } from "./os-release.js";

/*
 * apt.conf(5) syntax: `A::B::C "value";`, or the same nested as `A { B { C "value"; }; };`, with
 * `//`, `/* *\/` and `#` comments. Later assignments override earlier ones.
 */
const TOKEN = /"([^"]*)"|\/\/[^\n]*|\/\*[\s\S]*?\*\/|#[^\n]*|([{};])|([^\s{};"]+)/g;

/** Parses one apt configuration file into `lowercased::key → value`, applied over `into`. */
export function parseAptConfig(text: string, into = new Map<string, string>()): Map<string, string> {
  const scopes: string[] = [];
  let name: string | null = null;
  let value: string | null = null;
  for (const match of text.matchAll(TOKEN)) {
    const [, quoted, punctuation, word] = match;
    if (quoted !== undefined || word !== undefined) {
      const text = quoted ?? word ?? "";
      if (name === null) name = text;
      else value = text;
    } else if (punctuation === "{") {
      if (name !== null) scopes.push(name);
      name = null;
      value = null;
    } else if (punctuation === "}") {
      scopes.pop();
      name = null;
      value = null;
    } else if (punctuation === ";") {
      if (name !== null && value !== null) into.set([...scopes, name].join("::").toLowerCase(), value);
      name = null;
      value = null;
    }
    // Comments match neither group and are skipped.
  }
  return into;
}

/**
 * apt reads /etc/apt/apt.conf.d/ in name order, then /etc/apt/apt.conf. It only reads names made of
 * letters, digits, `_`, `-` and `.` with no extension or `.conf`, so `20auto-upgrades.ucf-dist`
 * and `*.dpkg-old` leftovers are ignored, as apt ignores them.
 */
export async function readAptConfig(root: string): Promise<Map<string, string>> {
  const config = new Map<string, string>();
  const dir = join(root, "etc/apt/apt.conf.d");
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter(
      (n) => /^[A-Za-z0-9_.-]+$/.test(n) && (!n.includes(".") || n.endsWith(".conf")),
    );
  } catch {
    // No parts directory: only apt.conf, if any, applies.
  }
  for (const name of names.sort()) {
    const text = await readOptionalFile(join(dir, name));
    if (text !== null) parseAptConfig(text, config);
  }
  const main = await readOptionalFile(join(root, "etc/apt/apt.conf"));
  if (main !== null) parseAptConfig(main, config);
  return config;
}
