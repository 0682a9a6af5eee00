import { z } from "zod";
import { DEFAULT_ROOT_KEY } from "../domain/storage-config";
import type { DeleteKeysInput, ListFolderInput, ListFolderOutput } from "../executors/storage-folder";
import { commonParameters, ContentId, StorageFolder, StorageParameter } from "./common";
import { defineWorkflow } from "./definition";

export const VoddeleteParameters = z.looseObject({
  // Required in the reference's table, optional since its release 1.170.1.
  content_id: ContentId.optional(),
  folder: StorageFolder,
  source_storage: StorageParameter,
  ...commonParameters,
});
export type VoddeleteParameters = z.output<typeof VoddeleteParameters>;

/** Reference §3.3: deletes a VOD asset folder, every object under `<root>/<folder>/`. */
export const voddelete = defineWorkflow({
  name: "voddelete",
  description: "Delete a VOD asset folder: every object under <root>/<folder>/. A folder that does not exist fails the job.",
  parameters: VoddeleteParameters,
  example: { content_id: "demo1", folder: "demo1", rest_endpoints: ["https://cms.example/hook"], custom_data: { ref: "r-1" } },
  tasks: () => [
    {
      name: "list_folder",
      executor: "storage.list_folder",
      timeoutMs: 5 * 60_000,
      input: (p): ListFolderInput => ({ storage: p.source_storage!, root_key: p.output_root ?? DEFAULT_ROOT_KEY, folder: p.folder }),
    },
    {
      name: "delete_folder",
      executor: "storage.delete_keys",
      needs: ["list_folder"],
      timeoutMs: 15 * 60_000,
      input: (p, outputs): DeleteKeysInput => {
        const listing = outputs.list_folder as ListFolderOutput;
        return { storage: p.source_storage!, root_key: p.output_root ?? DEFAULT_ROOT_KEY, folder: p.folder, keys: listing.keys };
      },
    },
  ],
  result: (params, outputs) => ({ message: params.folder, files: (outputs.delete_folder as { deleted: string[] } | undefined)?.deleted ?? [] }),
});
