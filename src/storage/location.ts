import { NonRetryableError } from "../executors/errors";
import { rootFolder, type StorageLocationConfig } from "../domain/storage-config";
import type { StorageDriver } from "./driver";
import { joinKey, pathProblem } from "./paths";

/** A client's storage as executors use it: a driver, and paths resolved below the configured roots. */
export class StorageLocation {
  constructor(
    readonly name: string,
    readonly driver: StorageDriver,
    private readonly config: StorageLocationConfig,
  ) {}

  /** The full key of `relative` below the root `rootKey`; refuses unknown roots and unsafe paths. */
  key(rootKey: string, ...relative: string[]): string {
    const root = rootFolder(this.config, rootKey);
    if (root === null) throw new NonRetryableError(`root '${rootKey}' is not configured for storage '${this.name}'`);
    for (const part of relative) {
      const problem = pathProblem(part);
      if (problem) throw new NonRetryableError(`path ${JSON.stringify(part)} ${problem}`);
    }
    return joinKey(root, ...relative);
  }

  /** The listing prefix of a folder below a root (ends with '/'). */
  folder(rootKey: string, ...relative: string[]): string {
    return `${this.key(rootKey, ...relative)}/`;
  }
}
