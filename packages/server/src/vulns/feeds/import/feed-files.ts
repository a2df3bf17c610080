import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import * as tar from "tar";
import yauzl from "yauzl";

/** One file of an offline feed bundle: a plain file, or an entry of a zip or tar archive. */
export interface FeedFile {
  /** The path inside the bundle, for messages and format detection. */
  name: string;
  size: number;
  read(): Promise<Buffer>;
}

/** A file that is not read, with the reason (too large, a link, a broken archive entry). */
export interface RefusedFile {
  name: string;
  reason: string;
}

export interface FeedBundle {
  /** How many files the bundle holds, when that is known before reading it. */
  total: number;
  files: AsyncIterable<FeedFile>;
  refused: RefusedFile[];
  close(): Promise<void>;
}

/**
 * Bigger than any one real feed file (the Debian tracker's JSON is about 70 MB); what is larger is
 * refused rather than read, so a zip bomb or a wrong path cannot exhaust the importer's memory.
 */
export const MAX_FEED_FILE_BYTES = 256 * 1024 * 1024;

const isZip = (name: string) => /\.zip$/i.test(name);
const isTar = (name: string) => /\.(?:tar\.gz|tgz|tar)$/i.test(name);
const isGzip = (name: string) => /\.gz$/i.test(name) && !isTar(name);

/** Reads a gzip-compressed file, refusing output past the limit. */
function gunzipBounded(bytes: Buffer, name: string): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_FEED_FILE_BYTES });
  } catch (error) {
    throw new Error(`${name}: cannot be decompressed (${error instanceof Error ? error.message : error})`);
  }
}

/** Plain files, with `.gz` files (EPSS's daily csv.gz) decompressed on read. */
function plainFile(path: string, name: string, size: number): FeedFile {
  if (isGzip(name)) {
    return {
      name: name.replace(/\.gz$/i, ""),
      size,
      read: async () => gunzipBounded(await readFile(path), name),
    };
  }
  return { name, size, read: () => readFile(path) };
}

async function* walk(root: string, dir: string, refused: RefusedFile[]): AsyncGenerator<FeedFile> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const name = relative(root, path);
    if (entry.isDirectory()) yield* walk(root, path, refused);
    else if (!entry.isFile()) refused.push({ name, reason: "not a regular file" });
    else {
      const { size } = await stat(path);
      if (size > MAX_FEED_FILE_BYTES)
        refused.push({ name, reason: `larger than ${MAX_FEED_FILE_BYTES} bytes` });
      else if (isZip(name) || isTar(name))
        refused.push({
          name,
          reason: "archives inside a directory are not opened; import them on their own",
        });
      else yield plainFile(path, name, size);
    }
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += await countFiles(join(dir, entry.name));
    else n++;
  }
  return n;
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true },
      (error, zip) => (error ? reject(error) : resolve(zip)),
    ),
  );
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const onEntry = (entry: yauzl.Entry) => done(() => resolve(entry));
    const onEnd = () => done(() => resolve(null));
    const onError = (error: Error) => done(() => reject(error));
    const done = (settle: () => void) => {
      zip.off("entry", onEntry).off("end", onEnd).off("error", onError);
      settle();
    };
    zip.on("entry", onEntry).on("end", onEnd).on("error", onError);
    zip.readEntry();
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error) return reject(error);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_FEED_FILE_BYTES) stream.destroy(new Error(`larger than ${MAX_FEED_FILE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      stream.on("error", reject);
      stream.on("end", () => resolve(Buffer.concat(chunks)));
    });
  });
}

async function* zipFiles(zip: yauzl.ZipFile, refused: RefusedFile[]): AsyncGenerator<FeedFile> {
  for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
    const name = entry.fileName;
    if (name.endsWith("/")) continue;
    if (entry.uncompressedSize > MAX_FEED_FILE_BYTES) {
      refused.push({ name, reason: `larger than ${MAX_FEED_FILE_BYTES} bytes` });
      continue;
    }
    const current = entry;
    yield {
      name: isGzip(name) ? name.replace(/\.gz$/i, "") : name,
      size: current.uncompressedSize,
      read: async () => {
        const bytes = await readEntry(zip, current);
        return isGzip(name) ? gunzipBounded(bytes, name) : bytes;
      },
    };
  }
}

/**
 * Opens what `feeds import` was given: a feed file, a directory of them (read recursively, in name
 * order), a zip (OSV's all.zip) or a tar.gz bundle. A tar is unpacked into a private temporary
 * directory first (tar refuses absolute paths and `..`, and links are not followed); a zip is read
 * entry by entry without unpacking.
 */
export async function openFeedBundle(path: string): Promise<FeedBundle> {
  const info = await stat(path);
  const refused: RefusedFile[] = [];
  if (info.isDirectory()) {
    return {
      total: await countFiles(path),
      files: walk(path, path, refused),
      refused,
      close: async () => {},
    };
  }
  if (isZip(path)) {
    const zip = await openZip(path);
    return { total: zip.entryCount, files: zipFiles(zip, refused), refused, close: async () => zip.close() };
  }
  if (isTar(path)) {
    const dir = await mkdtemp(join(tmpdir(), "patchpilot-feeds-"));
    await new Promise<void>((resolve, reject) =>
      createReadStream(path)
        .on("error", reject)
        .pipe(
          tar.x({
            cwd: dir,
            strict: false,
            preserveOwner: false,
            filter: (name, entry) => {
              const type = "type" in entry ? entry.type : "File";
              if (type === "File" || type === "OldFile" || type === "Directory") return true;
              refused.push({ name, reason: `${type} entries are not imported` });
              return false;
            },
          }),
        )
        .on("error", reject)
        .on("finish", () => resolve()),
    );
    return {
      total: await countFiles(dir),
      files: walk(dir, dir, refused),
      refused,
      close: () => rm(dir, { recursive: true, force: true }),
    };
  }
  if (!info.isFile()) throw new Error(`${path} is not a file or directory`);
  if (info.size > MAX_FEED_FILE_BYTES && !isGzip(path)) {
    throw new Error(`${path} is larger than ${MAX_FEED_FILE_BYTES} bytes`);
  }
  const name = path.split("/").pop() ?? path;
  const file = plainFile(path, name, info.size);
  return {
    total: 1,
    files: (async function* () {
      yield file;
    })(),
    refused,
    close: async () => {},
  };
}
