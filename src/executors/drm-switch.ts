import { manifestKindOf, parkedManifestName, parseManifestName, planSwitch, type Manifest, type ManifestFormat, type Rename, type SwitchPlan } from "../domain/drm-manifests";
import { fileNameProblem } from "../storage/paths";
import type { StorageRoot } from "../storage/root";
import { errorMessage, NonRetryableError } from "../domain/errors";
import type { Executor } from "./executor";

/** drmswitch's executors: get_filenames → prepare_switch → rename_manifests (reference §3.4). */

export interface GetFilenamesInput {
  storage: string;
  root_key: string;
  folder: string;
  content_id: string;
}

export interface GetFilenamesOutput {
  /** The folder's full path (root/folder), for messages. */
  folder: string;
  manifests: Manifest[];
}

/** The folder's manifests (`.ism`, root `.m3u8` / `.mpd` pairs, parked `.drm`), each with its kind; parked ones are read to tell. */
export const getFilenames: Executor = async (input, ctx): Promise<GetFilenamesOutput> => {
  const { storage, root_key, folder, content_id } = input as GetFilenamesInput;
  const root = (await ctx.storage(storage)).root(root_key);
  const prefix = root.folder(folder);
  const manifests: Manifest[] = [];
  for await (const object of root.list(folder)) {
    const name = object.key.slice(prefix.length);
    if (name.includes("/")) continue;
    const parsed = parseManifestName(name);
    if (!parsed) continue;
    const kind = parsed.kind ?? (await kindOf(root, folder, object.key, parsed.format));
    manifests.push({
      name,
      key: object.key,
      state: parsed.state,
      kind,
      guid: parsed.guid ?? crypto.randomUUID(),
      contentId: parsed.contentId ?? content_id,
      epoch: parsed.epoch,
      format: parsed.format,
    });
  }
  if (manifests.length === 0) throw new NonRetryableError(`no manifest (.ism, root .m3u8 / .mpd, or parked .drm) in '${prefix.slice(0, -1)}'`);
  return { folder: prefix.slice(0, -1), manifests };
};

async function kindOf(root: StorageRoot, folder: string, key: string, format: ManifestFormat): Promise<"drm" | "clear"> {
  const object = await root.getListed(folder, key);
  if (!object) throw new Error(`manifest '${key}' disappeared while it was read`);
  return manifestKindOf(format, await object.text());
}

export interface PrepareSwitchInput {
  listing: GetFilenamesOutput;
  enable_drm: boolean;
  content_id: string;
}

/** Decides the renames (pure); a wanted manifest that does not exist, or a name that is not one file name, fails the job. */
export const prepareSwitch: Executor = async (input): Promise<SwitchPlan> => {
  const { listing, enable_drm, content_id } = input as PrepareSwitchInput;
  const result = planSwitch(listing.manifests, enable_drm, listing.folder, content_id, Math.floor(Date.now() / 1000), fileNameProblem);
  if (!result.ok) throw new NonRetryableError(result.error);
  return result.plan;
};

export interface RenameManifestsInput {
  storage: string;
  root_key: string;
  folder: string;
  plan: SwitchPlan;
}

export interface RenameManifestsOutput {
  /** The active manifest's full path. */
  active: string;
  /** Full paths touched: the new active manifests, then the parked ones. */
  files: string[];
}

/**
 * Puts the new active manifest in place first, then parks the old one; each step is safe to repeat. Every
 * name is checked before anything moves, and when a later step fails the earlier ones are undone, so the
 * folder is switched or left as it was (a retry then runs the whole plan again).
 */
export const renameManifests: Executor = async (input, ctx): Promise<RenameManifestsOutput> => {
  const { storage, root_key, folder, plan } = input as RenameManifestsInput;
  const root = (await ctx.storage(storage)).root(root_key);
  const steps = [...stepsOf(plan.activate), ...stepsOf(plan.park)];
  // Every key is built, and so checked, before the first move.
  const active = root.fileIn(folder, plan.active);
  const files = steps.map((step) => {
    root.fileIn(folder, step.from);
    return root.fileIn(folder, step.to);
  });
  const done: Rename[] = [];
  try {
    for (const step of steps) {
      await moveOnce(root, folder, step);
      done.push(step);
    }
  } catch (error) {
    await undo(root, folder, done, ctx.log);
    throw error;
  }
  return { active, files };
};

/** A plan's steps; a plan stored before manifest pairs has one rename (or null) where a list is now. */
function stepsOf(steps: Rename[] | Rename | null): Rename[] {
  return steps === null ? [] : Array.isArray(steps) ? steps : [steps];
}

/** A move that a retry may repeat: a source already gone with its target in place counts as done. */
async function moveOnce(root: StorageRoot, folder: string, step: Rename): Promise<void> {
  if (await root.headIn(folder, step.from)) {
    await root.moveIn(folder, step.from, step.to);
    return;
  }
  if (await root.headIn(folder, step.to)) return;
  throw new NonRetryableError(`manifest '${root.fileIn(folder, step.from)}' is missing`);
}

/** Moves completed steps back, newest first. If that fails too, a retry of the task completes the plan instead. */
async function undo(root: StorageRoot, folder: string, done: Rename[], log: (message: string) => void): Promise<void> {
  for (const step of [...done].reverse()) {
    try {
      await moveOnce(root, folder, { from: step.to, to: step.from });
    } catch (error) {
      log(`could not undo the rename of '${step.from}' to '${step.to}': ${errorMessage(error)}`);
      return;
    }
  }
}

export interface ParkEarlierInput {
  storage: string;
  root_key: string;
  folder: string;
  content_id: string;
  /** The root manifests this job published (kept active, or parked by it already). */
  keep: string[];
}

/**
 * After vodstream publishes into a folder that already held a package of the same content: the earlier
 * active root manifests (`.m3u8` / `.mpd` pairs, or a USP `.ism`) are parked under their guid, so the folder
 * keeps one active set (the new one, already in place) and drmswitch can still switch it. Safe to repeat.
 */
export const parkEarlier: Executor = async (input, ctx): Promise<{ parked: string[] }> => {
  const { storage, root_key, folder, content_id, keep } = input as ParkEarlierInput;
  const root = (await ctx.storage(storage)).root(root_key);
  const prefix = root.folder(folder);
  const epoch = Math.floor(Date.now() / 1000);
  const steps: Rename[] = [];
  for await (const object of root.list(folder)) {
    const name = object.key.slice(prefix.length);
    if (name.includes("/") || keep.includes(name)) continue;
    const parsed = parseManifestName(name);
    if (!parsed || parsed.state !== "active" || parsed.guid === null || parsed.contentId !== content_id) continue;
    steps.push({ from: name, to: parkedManifestName(epoch, parsed.guid, content_id, parsed.format) });
  }
  for (const step of steps) {
    root.fileIn(folder, step.to);
    await moveOnce(root, folder, step);
  }
  if (steps.length > 0) ctx.log(`parked the earlier active manifests ${steps.map((step) => step.from).join(", ")}`);
  return { parked: steps.map((step) => root.fileIn(folder, step.to)) };
};
