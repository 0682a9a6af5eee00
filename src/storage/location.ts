import { NonRetryableError } from "../domain/errors";
import { rootFolder, type StorageLocationConfig } from "../domain/storage-config";
import type { StorageDriver } from "./driver";
import { StorageRoot } from "./root";

/**
 * A client's storage location as executors get it. It hands out only its configured roots: a root key the
 * operator did not configure for this location (or any name that is not an own key of its `roots`, such as
 * `__proto__` or `constructor`) is refused, never read as "the top of the bucket".
 */
export class StorageLocation {
  constructor(
    readonly name: string,
    private readonly driver: StorageDriver,
    private readonly config: StorageLocationConfig,
  ) {}

  /** The configured root `rootKey` of this location. */
  root(rootKey: string): StorageRoot {
    const folder = rootFolder(this.config, rootKey);
    if (folder === null) throw new NonRetryableError(`root '${rootKey.slice(0, 64)}' is not configured for storage '${this.name}'`);
    return new StorageRoot(this.name, rootKey, this.driver, folder);
  }
}
