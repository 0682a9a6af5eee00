/**
 * drmswitch's manifest naming (reference §3.4): in a VOD folder the active server manifest is the one
 * `.ism` — `<content_id>_drm_<guid>.ism` or `<content_id>_nodrm_<guid>.ism` — and inactive ones are parked as
 * `<epoch>_<guid>_<content_id>.drm` (or `…_aes.drm`). A manifest keeps its guid when it is parked and
 * brought back, so on → off → on returns to the same active name.
 */

export type ManifestKind = "drm" | "clear";

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
}

export interface ParsedName {
  state: "active" | "parked";
  /** Known from the name (active manifests, `_aes.drm`), else null: the content decides. */
  kind: ManifestKind | null;
  guid: string | null;
  contentId: string | null;
  epoch: number | null;
}

const ACTIVE = /^(.+)_(drm|nodrm)_([^_]+)\.ism$/;
const PARKED = /^(\d+)_([^_]+)_(.+?)(_aes)?\.drm$/;

/** What a file name says about a manifest; null when it is not a manifest. */
export function parseManifestName(name: string): ParsedName | null {
  const active = ACTIVE.exec(name);
  if (active) return { state: "active", kind: active[2] === "drm" ? "drm" : "clear", contentId: active[1]!, guid: active[3]!, epoch: null };
  if (name.endsWith(".ism")) return { state: "active", kind: null, contentId: null, guid: null, epoch: null };
  const parked = PARKED.exec(name);
  if (parked) {
    return { state: "parked", kind: parked[4] ? "drm" : null, epoch: Number(parked[1]), guid: parked[2]!, contentId: parked[3]! };
  }
  return null;
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
  /** The wanted manifest, moved into place as the active one (first). */
  activate: Rename | null;
  /** The previously active manifest, parked (after the new one is in place). */
  park: Rename | null;
  /** The active manifest's file name once the switch is done. */
  active: string;
}

export type PlanResult = { ok: true; plan: SwitchPlan } | { ok: false; error: string };

/**
 * What to rename so that the manifest of the wanted kind is the active one. `folder` (the folder's full
 * path) only names it in messages. `nameProblem` vets every file name the plan would write (one safe file
 * name each): a content id that is not one is refused before anything moves.
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
  if (active.length > 1) return { ok: false, error: `several active manifests in '${folder}': ${active.map((m) => m.name).join(", ")}` };
  const current = active[0];
  if (current?.kind === wanted) return { ok: true, plan: { activate: null, park: null, active: current.name } };
  const candidate = manifests
    .filter((manifest) => manifest.state === "parked" && manifest.kind === wanted)
    .sort((a, b) => (b.epoch ?? 0) - (a.epoch ?? 0))[0];
  if (!candidate) {
    const label = wanted === "drm" ? "DRM" : "clear (nodrm)";
    const name = `${contentId}_${wanted === "drm" ? "drm" : "nodrm"}_<guid>.ism`;
    return {
      ok: false,
      error: `the ${label} manifest is missing in '${folder}': no ${name} and no parked ${label} manifest (<epoch>_<guid>_${contentId}.drm); generating it needs the packager`,
    };
  }
  const activeName = `${candidate.contentId}_${wanted === "drm" ? "drm" : "nodrm"}_${candidate.guid}.ism`;
  const plan: SwitchPlan = {
    activate: { from: candidate.name, to: activeName },
    park: current ? { from: current.name, to: `${epoch}_${current.guid}_${current.contentId}.drm` } : null,
    active: activeName,
  };
  for (const name of [plan.activate?.to, plan.park?.to]) {
    const problem = name === undefined ? null : nameProblem(name);
    if (problem) return { ok: false, error: `cannot name a manifest ${JSON.stringify(name!.slice(0, 200))} in '${folder}': it ${problem}` };
  }
  return { ok: true, plan };
}
