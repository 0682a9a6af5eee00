import { NonRetryableError } from "../domain/errors";
import { listAll, type ObjectInfo, type PutBody, type StorageDriver, type StoredObject } from "./driver";
import { fileNameProblem, joinKey, pathProblem } from "./paths";

/**
 * One configured root of a client's storage location, the only way executors reach storage. Every path an
 * executor gives is relative to the root, checked (paths.ts) and joined below it, and every key that comes
 * back from an earlier task is checked to lie below it again: an executor cannot name a key outside the
 * roots the operator configured for its client (confinement by construction, workflows.md Storage).
 */
export class StorageRoot {
  constructor(
    /** The storage name (`R2`, `S3`, …), for messages. */
    readonly storage: string,
    readonly rootKey: string,
    private readonly driver: StorageDriver,
    /** The root folder in the bucket: a safe relative path, or "" when the operator gave the whole bucket. */
    private readonly root: string,
  ) {}

  /** The full key of a path below the root; refuses unsafe paths. */
  key(path: string): string {
    const problem = pathProblem(path);
    if (problem) throw new NonRetryableError(`path ${JSON.stringify(path.slice(0, 200))} ${problem}`);
    return joinKey(this.root, path);
  }

  /** The listing prefix of a folder below the root (ends with '/'). */
  folder(path: string): string {
    return `${this.key(path)}/`;
  }

  /** The full key of file `name` (one file name, no '/') in `folder`. */
  fileIn(folder: string, name: string): string {
    const problem = fileNameProblem(name);
    if (problem) throw new NonRetryableError(`file name ${JSON.stringify(name.slice(0, 200))} ${problem}`);
    return `${this.folder(folder)}${name}`;
  }

  /** Every object under a folder, in key order. */
  list(folder: string): AsyncGenerator<ObjectInfo> {
    return listAll(this.driver, this.folder(folder));
  }

  head(path: string): Promise<ObjectInfo | null> {
    return this.driver.head(this.key(path));
  }

  get(path: string): Promise<StoredObject | null> {
    return this.driver.get(this.key(path));
  }

  /** Writes a file below the root (a published output). */
  put(path: string, body: PutBody, options?: { contentType?: string }): Promise<void> {
    return this.driver.put(this.key(path), body, options);
  }

  /** Reads a full key that an earlier step listed; it must lie under `folder`. */
  getListed(folder: string, key: string): Promise<StoredObject | null> {
    return this.driver.get(this.listed(folder, key));
  }

  /** Moves file `from` to file `to`, both in `folder`. */
  async moveIn(folder: string, from: string, to: string): Promise<void> {
    await this.driver.move(this.fileIn(folder, from), this.fileIn(folder, to));
  }

  headIn(folder: string, name: string): Promise<ObjectInfo | null> {
    return this.driver.head(this.fileIn(folder, name));
  }

  /** Deletes paths below the root. */
  async delete(paths: string[]): Promise<void> {
    await this.driver.delete(paths.map((path) => this.key(path)));
  }

  /** Deletes full keys that an earlier step listed; each must lie under `folder`. */
  async deleteListed(folder: string, keys: string[]): Promise<void> {
    await this.driver.delete(keys.map((key) => this.listed(folder, key)));
  }

  /** Deletes every object under a folder; returns the deleted keys. */
  deleteFolder(folder: string): Promise<string[]> {
    return this.driver.deletePrefix(this.folder(folder));
  }

  /** A key carried over from an earlier task, checked to be a safe key under `folder` of this root. */
  private listed(folder: string, key: string): string {
    const prefix = this.folder(folder);
    const problem = key.startsWith(prefix) ? pathProblem(key) : `is not under '${prefix}'`;
    if (problem) throw new NonRetryableError(`key ${JSON.stringify(key.slice(0, 200))} ${problem}`);
    return key;
  }
}
