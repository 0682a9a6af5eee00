import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ToolError } from "../tools.ts";

/**
 * Every URI the manifests under `out` name stays inside `out`: nothing a source tag could steer, and nothing
 * of this machine or the network that ffmpeg would follow when it reads a package from a client's storage.
 */
export async function noReferenceOutside(out: string): Promise<void> {
  for (const file of await listFiles(out)) {
    if (!/\.(m3u8|mpd)$/.test(file)) continue;
    const text = await readFile(file, "utf8");
    const uris = file.endsWith(".m3u8")
      ? text.split("\n").flatMap((line) => (line.startsWith("#") ? [...line.matchAll(/URI="([^"]+)"/g)].map((match) => match[1]!).filter((uri) => !(isKeyTag(line) && /^(data|skd):/i.test(uri))) : line.trim() === "" ? [] : [line.trim()]))
      : [...text.matchAll(/(?:media|initialization)="([^"]+)"|<BaseURL>([^<]+)<\/BaseURL>/g)].map((match) => (match[1] ?? match[2])!);
    for (const uri of uris) {
      const target = join(dirname(file), uri.replaceAll("$Number$", "1"));
      if (/^[a-z]+:/i.test(uri) || uri.startsWith("/") || !target.startsWith(out + sep)) throw new ToolError(`${relative(out, file)} refers to '${uri.slice(0, 100)}', outside the package`, false);
    }
  }
}

/** A key tag whose URI is a `data:` PSSH or an `skd://` key names a key, not a file (any other URI is checked). */
function isKeyTag(line: string): boolean {
  return line.startsWith("#EXT-X-KEY:") || line.startsWith("#EXT-X-SESSION-KEY:");
}

/** Every file below a folder, sorted. */
export async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
}
