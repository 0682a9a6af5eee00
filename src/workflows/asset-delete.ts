import { z } from "zod";
import { DEFAULT_ROOT_KEY } from "../domain/storage-config";
import type { DeleteFilesInput, DeleteFilesOutput } from "../executors/storage-files";
import { commonParameters, ContentId, StorageParameter, StoragePath } from "./common";
import { defineWorkflow } from "./definition";

export const AssetDeleteParameters = z.looseObject({
  content_id: ContentId,
  files: z.array(StoragePath).min(1, "files must list at least one file").max(1000, "at most 1000 files"),
  source_storage: StorageParameter,
  ...commonParameters,
});
export type AssetDeleteParameters = z.output<typeof AssetDeleteParameters>;

/** Reference §3.10: deletes individual files, not a whole folder; missing files are reported, not an error. */
export const assetDelete = defineWorkflow({
  name: "asset_delete",
  description: "Delete individual files (paths below the root). Files that do not exist are reported, not a failure.",
  parameters: AssetDeleteParameters,
  example: { content_id: "demo-content", files: ["demo-content/assets/foo.gif"], source_storage: "S3", custom_data: { custom_ref: "ref-123" } },
  tasks: () => [
    {
      name: "delete_files",
      executor: "storage.delete_files",
      timeoutMs: 5 * 60_000,
      input: (p): DeleteFilesInput => ({ storage: p.source_storage!, root_key: p.output_root ?? DEFAULT_ROOT_KEY, files: p.files }),
      callbackFields: (p) => ({ files: p.files }),
    },
  ],
  result: (params, outputs) => {
    const output = outputs.delete_files as DeleteFilesOutput | undefined;
    // `missing` (ext): the requested files that did not exist.
    return { message: params.files.join(", "), files: params.files, missing: output?.missing ?? [] };
  },
});
