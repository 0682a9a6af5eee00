/**
 * drmswitch's manifest naming (reference §3.4, media.md Packages): in a VOD folder the active server manifest
 * is the one `.ism` — `<content_id>_drm_<guid>.ism` or `<content_id>_nodrm_<guid>.ism` — or, for the CMAF
 * packages vodstream makes, the one pair of root manifests `<content_id>_(drm|nodrm)_<guid>.m3u8` / `.mpd`.
 * Inactive ones are parked as `<epoch>_<guid>_<content_id>.drm` (or `…_aes.drm`), a pair as
 * `<epoch>_<guid>_<content_id>.m3u8.drm` / `.mpd.drm`. A manifest keeps its guid when it is parked and brought
 * back, so on → off → on returns to the same active name (and the name points into the same package).
 */

export type ManifestKind = "drm" | "clear";
/** A USP server manifest, or one of a CMAF package's root manifests (HLS master playlist, DASH MPD). */
export type ManifestFormat = "ism" | "m3u8" | "mpd";

export interface Manifest {
  /** File name in the folder. */
  name: string;
  /** Full key. */
  key: string;
  state: "active" | "parked";
  kind: ManifestKind;
  guid: string;
  contentId: string;
  /** When it was parked (Unix seconds), for parked manifests. */
  epoch: number | null;
  /** `ism` when absent (a listing made before CMAF packages). */
  format?: ManifestFormat;
}

export interface ParsedName {
  state: "active" | "parked";
  /** Known from the name (active manifests, `_aes.drm`), else null: the content decides. */
  kind: ManifestKind | null;
  guid: string | null;
  contentId: string | null;
  epoch: number | null;
  format: ManifestFormat;
}

const ACTIVE = /^(.+)_(drm|nodrm)_([^_]+)\.(ism|m3u8|mpd)$/;
// `_aes` marks a parked AES `.ism` only: a root pair's content id may end in `_aes` itself.
const PARKED = /^(\d+)_([^_]+)_(.+?)(?:(_aes)\.drm|\.(m3u8|mpd)\.drm|\.drm)$/;

/** What a file name says about a manifest; null when it is not a manifest. */
export function parseManifestName(name: string): ParsedName | null {
  const active = ACTIVE.exec(name);
  if (active) return { state: "active", kind: active[2] === "drm" ? "drm" : "clear", contentId: active[1]!, guid: active[3]!, epoch: null, format: active[4] as ManifestFormat };
  // A legacy `.ism` named otherwise is still the folder's server manifest; other playlists at the root are not ours.
  if (name.endsWith(".ism")) return { state: "active", kind: null, contentId: null, guid: null, epoch: null, format: "ism" };
  const parked = PARKED.exec(name);
  if (parked) {
    return { state: "parked", kind: parked[4] ? "drm" : null, epoch: Number(parked[1]), guid: parked[2]!, contentId: parked[3]!, format: (parked[5] as ManifestFormat | undefined) ?? "ism" };
  }
  return null;
}

/** The active name of a manifest of a package named `<content_id>_(drm|nodrm)_<guid>`. */
export function activeManifestName(packageName: string, format: ManifestFormat): string {
  return `${packageName}.${format}`;
}

/** A parked manifest's name: `<epoch>_<guid>_<content_id>.drm`, with the format before `.drm` for a root pair. */
export function parkedManifestName(epoch: number, guid: string, contentId: string, format: ManifestFormat): string {
  return `${epoch}_${guid}_${contentId}${format === "ism" ? "" : `.${format}`}.drm`;
}

/**
 * Whether a manifest's text is of a protected package: a server manifest's DRM parameters; a root manifest's
 * package (the `<content_id>_drm_<guid>/` it points into), or else its key tags / ContentProtection.
 */
export function manifestKindOf(format: ManifestFormat, text: string): ManifestKind {
  if (format === "ism") return manifestHasDrm(text) ? "drm" : "clear";
  const target = /(?:^|[\s"'>\/])[^\s"'<>\/]*_(drm|nodrm)_[^\s"'<>\/_]+\//m.exec(text);
  if (target) return target[1] === "drm" ? "drm" : "clear";
  const signals = format === "m3u8" ? /#EXT-X-(SESSION-)?KEY:METHOD=(?!NONE)/ : /<ContentProtection\b/;
  return signals.test(text) ? "drm" : "clear";
}

/** Words in USP server-manifest parameter names that only DRM (or AES) manifests carry. */
const DRM_WORDS = new Set(["drm", "playready", "widevine", "fairplay", "marlin", "cenc", "cbcs", "aes", "key", "kid", "license", "cpix"]);

/** Whether a server manifest's text sets encryption: one of its `<param name="…">` names is a DRM setting. */
export function manifestHasDrm(text: string): boolean {
  for (const match of text.matchAll(/<param\b[^>]*\bname\s*=\s*["']([^"']+)["']/gi)) {
    if (match[1]!.toLowerCase().split(/[._\-]/).some((word) => DRM_WORDS.has(word))) return true;
  }
  return false;
}

/** One rename inside the VOD folder: file names, not keys (the folder is the job's, below its root). */
export interface Rename {
  from: string;
  to: string;
}

export interface SwitchPlan {
  /** The wanted manifests (one `.ism`, or a root pair), moved into place as the active ones (first). */
  activate: Rename[];
  /** The previously active manifests, parked (after the new ones are in place). */
  park: Rename[];
  /** The active manifest's file name once the switch is done (of a pair, the HLS one). */
  active: string;
}

export type PlanResult = { ok: true; plan: SwitchPlan } | { ok: false; error: string };

const formatOf = (manifest: Manifest): ManifestFormat => manifest.format ?? "ism";
/** The name a set's `message` gives: its HLS manifest when it has one, else its first. */
const headName = (names: { name: string; format: ManifestFormat }[]) => (names.find((entry) => entry.format === "m3u8") ?? names[0]!).name;

/**
 * What to rename so that the manifests of the wanted kind are the active ones. Manifests sharing a guid (and
 * a park time) go together: a vodstream folder switches its `.m3u8` and `.mpd` as one. `folder` (the folder's
 * full path) only names it in messages. `nameProblem` vets every file name the plan would write (one safe
 * file name each): a content id that is not one is refused before anything moves.
 */
export function planSwitch(
  manifests: Manifest[],
  enableDrm: boolean,
  folder: string,
  contentId: string,
  epoch: number,
  nameProblem: (name: string) => string | null = () => null,
): PlanResult {
  const wanted: ManifestKind = enableDrm ? "drm" : "clear";
  const active = manifests.filter((manifest) => manifest.state === "active");
  if (new Set(active.map((manifest) => manifest.guid)).size > 1) return { ok: false, error: `several active manifests in '${folder}': ${active.map((m) => m.name).join(", ")}` };
  const current = active[0];
  if (current?.kind === wanted) return { ok: true, plan: { activate: [], park: [], active: headName(active.map((m) => ({ name: m.name, format: formatOf(m) }))) } };
  const newest = manifests
    .filter((manifest) => manifest.state === "parked" && manifest.kind === wanted)
    .sort((a, b) => (b.epoch ?? 0) - (a.epoch ?? 0))[0];
  if (!newest) {
    const label = wanted === "drm" ? "DRM" : "clear (nodrm)";
    const pair = active.some((manifest) => formatOf(manifest) !== "ism");
    const name = `${contentId}_${wanted === "drm" ? "drm" : "nodrm"}_<guid>.${pair ? "m3u8" : "ism"}`;
    const parked = `<epoch>_<guid>_${contentId}${pair ? ".m3u8" : ""}.drm`;
    return {
      ok: false,
      error: `the ${label} manifest is missing in '${folder}': no ${name} and no parked ${label} manifest (${parked}); generating it needs the packager${pair ? " (a vodstream with that drm list)" : ""}`,
    };
  }
  const candidates = manifests.filter((manifest) => manifest.state === "parked" && manifest.guid === newest.guid && manifest.epoch === newest.epoch);
  // A set that would leave a format without an active manifest (half a pair) is refused, not half switched.
  const lacking = [...new Set(active.map(formatOf))].filter((format) => !candidates.some((manifest) => formatOf(manifest) === format));
  if (lacking.length > 0) {
    return { ok: false, error: `the parked ${wanted === "drm" ? "DRM" : "clear (nodrm)"} manifests ${candidates.map((m) => m.name).join(", ")} in '${folder}' have no .${lacking.join(" or .")} to replace ${active.map((m) => m.name).join(", ")}` };
  }
  const tag = wanted === "drm" ? "drm" : "nodrm";
  const activate = candidates.map((manifest) => ({ from: manifest.name, to: activeManifestName(`${manifest.contentId}_${tag}_${manifest.guid}`, formatOf(manifest)), format: formatOf(manifest) }));
  const park = active.map((manifest) => ({ from: manifest.name, to: parkedManifestName(epoch, manifest.guid, manifest.contentId, formatOf(manifest)) }));
  const plan: SwitchPlan = { activate: activate.map(({ from, to }) => ({ from, to })), park, active: headName(activate.map(({ to, format }) => ({ name: to, format }))) };
  for (const name of [...plan.activate, ...plan.park].map((step) => step.to)) {
    const problem = nameProblem(name);
    if (problem) return { ok: false, error: `cannot name a manifest ${JSON.stringify(name.slice(0, 200))} in '${folder}': it ${problem}` };
  }
  return { ok: true, plan };
}
