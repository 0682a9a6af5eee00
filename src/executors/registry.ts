import { getFilenames, parkEarlier, prepareSwitch, renameManifests } from "./drm-switch";
import type { Executor } from "./executor";
import { getDrmKeys } from "./get-drm-keys";
import { getSources } from "./get-sources";
import { publish } from "./publish";
import { selftestWait } from "./selftest-wait";
import { deleteFiles } from "./storage-files";
import { deleteKeys, listFolder } from "./storage-folder";

const executors: ReadonlyMap<string, Executor> = new Map([
  ["selftest.wait", selftestWait],
  ["storage.list_folder", listFolder],
  ["storage.delete_keys", deleteKeys],
  ["storage.delete_files", deleteFiles],
  ["storage.list_manifests", getFilenames],
  ["storage.prepare_switch", prepareSwitch],
  ["storage.rename_manifests", renameManifests],
  ["storage.park_earlier_manifests", parkEarlier],
  ["media.publish", publish],
  ["storage.get_sources", getSources],
  ["drm.get_keys", getDrmKeys],
]);

export function findExecutor(name: string): Executor | undefined {
  return executors.get(name);
}
