import { z } from "zod";
import type { SwitchPlan } from "../domain/drm-manifests";
import { DEFAULT_ROOT_KEY } from "../domain/storage-config";
import type { GetFilenamesInput, GetFilenamesOutput, PrepareSwitchInput, RenameManifestsInput, RenameManifestsOutput } from "../executors/drm-switch";
import { commonParameters, DrmSystem, FileNameContentId, StorageFolder, StorageParameter } from "./common";
import { defineWorkflow } from "./definition";

export const DrmswitchParameters = z.looseObject({
  /** Becomes part of the manifests' file names: one safe file name. */
  content_id: FileNameContentId,
  folder: StorageFolder,
  /** true: the DRM manifest becomes the active one; false: the clear one (reference common DRM set). */
  enable_drm: z.boolean().default(true),
  /** The systems a generated DRM manifest would carry (generation needs the packager: phase 2). */
  drm: z.array(DrmSystem).max(6).default([]),
  cpix: z.boolean().default(false),
  source_storage: StorageParameter,
  ...commonParameters,
});
export type DrmswitchParameters = z.output<typeof DrmswitchParameters>;

/** Reference §3.4: toggles DRM on an existing VOD by renaming its server manifests. */
export const drmswitch = defineWorkflow({
  name: "drmswitch",
  description:
    "Switch DRM on or off for a VOD: the manifest of the wanted kind becomes the active .ism, the other one is parked as <epoch>_<guid>_<content_id>.drm.",
  parameters: DrmswitchParameters,
  example: { content_id: "demo1", folder: "demo1", enable_drm: true, drm: ["playready", "widevine"], cpix: false, source_storage: "S3", custom_data: { custom_ref: "ref-123" } },
  tasks: () => [
    {
      name: "get_filenames",
      executor: "storage.list_manifests",
      input: (p): GetFilenamesInput => ({ storage: p.source_storage!, root_key: p.output_root ?? DEFAULT_ROOT_KEY, folder: p.folder, content_id: p.content_id }),
    },
    {
      name: "prepare_switch",
      executor: "storage.prepare_switch",
      needs: ["get_filenames"],
      input: (p, outputs): PrepareSwitchInput => ({ listing: outputs.get_filenames as GetFilenamesOutput, enable_drm: p.enable_drm, content_id: p.content_id }),
    },
    {
      name: "rename_manifests",
      executor: "storage.rename_manifests",
      needs: ["prepare_switch"],
      input: (p, outputs): RenameManifestsInput => ({
        storage: p.source_storage!,
        root_key: p.output_root ?? DEFAULT_ROOT_KEY,
        folder: p.folder,
        plan: outputs.prepare_switch as SwitchPlan,
      }),
    },
  ],
  result: (_params, outputs) => {
    const output = outputs.rename_manifests as RenameManifestsOutput | undefined;
    return { message: output?.active ?? "", files: output?.files ?? [] };
  },
});
