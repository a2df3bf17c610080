import { readdir, readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where `vite build` writes the console (packages/console/dist). */
export const CONSOLE_DIST = fileURLToPath(new URL("../../../console/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  woff2: "font/woff2",
};

export interface ConsoleAsset {
  type: string;
  body: Buffer;
  /** The same bytes gzipped, once, on first request: the console's script is most of a first page load. */
  readonly gzipped: Buffer;
}

export interface ConsoleFiles {
  /** The single page, with its <title> set for the address it answers. */
  page(title: string): string;
  asset(name: string): ConsoleAsset | undefined;
}

const MISSING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PatchPilot</title></head>
<body><main><h1>PatchPilot</h1><p>The console is not built. Run <code>npm run build</code>, then reload this page.
The API at /api/v1 works without it.</p></main></body></html>`;

/**
 * The built console, read once at start and kept in memory (a few hundred kilobytes): the files
 * are the same for every request and every organisation, and change only with a new build.
 */
export async function loadConsoleFiles(dir = CONSOLE_DIST): Promise<ConsoleFiles> {
  const index = await readFile(`${dir}index.html`, "utf8").catch(() => MISSING_PAGE);
  const assets = new Map<string, ConsoleAsset>();
  const names = await readdir(`${dir}assets`).catch(() => [] as string[]);
  for (const name of names) {
    const type = TYPES[name.split(".").pop() ?? ""];
    if (!type || !(await stat(`${dir}assets/${name}`)).isFile()) continue;
    const body = await readFile(`${dir}assets/${name}`);
    let gzipped: Buffer | null = null;
    assets.set(name, {
      type,
      body,
      get gzipped() {
        gzipped ??= gzipSync(body);
        return gzipped;
      },
    });
  }
  const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    page: (title) => index.replace(/<title>[^<]*<\/title>/, `<title>${escapeHtml(title)}</title>`),
    asset: (name) => assets.get(name),
  };
}
