import { manifestHasDrm, parseManifestName, planSwitch, type Manifest, type SwitchPlan } from "../domain/drm-manifests";
import { listAll, type StorageDriver } from "../storage/driver";
import { NonRetryableError } from "./errors";
import type { Executor } from "./executor";

/** drmswitch's executors: get_filenames → prepare_switch → rename_manifests (reference §3.4). */

export interface GetFilenamesInput {
  storage: string;
  root_key: string;
  folder: string;
  content_id: string;
}

export interface GetFilenamesOutput {
  folder: string;
  manifests: Manifest[];
}

/** The folder's manifests (`.ism` and parked `.drm`), each with its kind; parked ones are read to tell. */
export const getFilenames: Executor = async (input, ctx): Promise<GetFilenamesOutput> => {
  const { storage, root_key, folder, content_id } = input as GetFilenamesInput;
  const location = await ctx.storage(storage);
  const prefix = location.folder(root_key, folder);
  const manifests: Manifest[] = [];
  for await (const object of listAll(location.driver, prefix)) {
    const name = object.key.slice(prefix.length);
    if (name.includes("/")) continue;
    const parsed = parseManifestName(name);
    if (!parsed) continue;
    const kind = parsed.kind ?? (await kindOf(location.driver, object.key));
    manifests.push({
      name,
      key: object.key,
      state: parsed.state,
      kind,
      guid: parsed.guid ?? crypto.randomUUID(),
      contentId: parsed.contentId ?? content_id,
      epoch: parsed.epoch,
    });
  }
  if (manifests.length === 0) throw new NonRetryableError(`no server manifest (.ism or parked .drm) in '${prefix.slice(0, -1)}'`);
  return { folder: prefix.slice(0, -1), manifests };
};

async function kindOf(driver: StorageDriver, key: string): Promise<"drm" | "clear"> {
  const object = await driver.get(key);
  if (!object) throw new Error(`manifest '${key}' disappeared while it was read`);
  return manifestHasDrm(await object.text()) ? "drm" : "clear";
}

export interface PrepareSwitchInput {
  listing: GetFilenamesOutput;
  enable_drm: boolean;
  content_id: string;
}

/** Decides the renames (pure); a wanted manifest that does not exist fails the job, naming it. */
export const prepareSwitch: Executor = async (input): Promise<SwitchPlan> => {
  const { listing, enable_drm, content_id } = input as PrepareSwitchInput;
  const result = planSwitch(listing.manifests, enable_drm, listing.folder, content_id, Math.floor(Date.now() / 1000));
  if (!result.ok) throw new NonRetryableError(result.error);
  return result.plan;
};

export interface RenameManifestsInput {
  storage: string;
  plan: SwitchPlan;
}

export interface RenameManifestsOutput {
  active: string;
  /** Full paths touched: the new active manifest, then the parked one. */
  files: string[];
}

/** Puts the new active manifest in place first, then parks the old one; each step is safe to repeat. */
export const renameManifests: Executor = async (input, ctx): Promise<RenameManifestsOutput> => {
  const { storage, plan } = input as RenameManifestsInput;
  const { driver } = await ctx.storage(storage);
  const files: string[] = [];
  for (const step of [plan.activate, plan.park]) {
    if (!step) continue;
    await moveOnce(driver, step.from, step.to);
    files.push(step.to);
  }
  return { active: plan.active, files };
};

/** A move that a retry may repeat: a source already gone with its target in place counts as done. */
async function moveOnce(driver: StorageDriver, from: string, to: string): Promise<void> {
  if (await driver.head(from)) {
    await driver.move(from, to);
    return;
  }
  if (await driver.head(to)) return;
  throw new NonRetryableError(`manifest '${from}' is missing`);
}
