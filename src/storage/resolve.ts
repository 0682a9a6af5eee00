import { NonRetryableError } from "../domain/errors";
import { parseClientConfig } from "../domain/client-config";
import { locationOf, storageProblem, type StorageLocationConfig } from "../domain/storage-config";
import { AzureBlobDriver } from "./azure-blob";
import type { StorageDriver } from "./driver";
import { StorageLocation } from "./location";
import { R2Driver } from "./r2";
import { S3Driver } from "./s3";

export interface StorageDeps {
  /** The R2 buckets bound to the Worker, by binding name. */
  r2: Readonly<Record<string, R2Bucket>>;
  fetch: typeof fetch;
}

/** A client's storage location by name, resolved from its current configuration. */
export type StorageResolver = (client: string, name: string) => Promise<StorageLocation>;

/** A driver for one configured location. */
export function driverFor(location: StorageLocationConfig, deps: StorageDeps): StorageDriver {
  switch (location.driver) {
    case "r2": {
      const bucket = deps.r2[location.binding];
      if (!bucket) throw new NonRetryableError(`R2 binding '${location.binding}' does not exist in this deployment`);
      return new R2Driver(bucket);
    }
    case "s3":
      return new S3Driver({
        endpoint: location.endpoint,
        bucket: location.bucket,
        region: location.region,
        accessKeyId: location.access_key_id,
        secretAccessKey: location.secret_access_key,
        sessionToken: location.session_token,
        pathStyle: location.path_style,
        fetch: deps.fetch,
      });
    case "azure_blob":
      return new AzureBlobDriver({ containerUrl: location.container_url, sasToken: location.sas_token, fetch: deps.fetch });
    default: {
      const never: never = location;
      throw new Error(`unknown storage driver ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Resolves storage from the client configuration text (`clients.config`), read once per client by this
 * resolver (one per queue batch, so a configuration change applies to the next batch).
 */
export function storageResolver(configText: (client: string) => Promise<string | null>, deps: StorageDeps): StorageResolver {
  const configs = new Map<string, ReturnType<typeof parseClientConfig>>();
  return async (client, name) => {
    let config = configs.get(client);
    if (!config) {
      config = parseClientConfig(await configText(client));
      configs.set(client, config);
    }
    const location = locationOf(config.storage, name);
    if (!location) throw new NonRetryableError(storageProblem(config.storage, name)!);
    return new StorageLocation(name, driverFor(location, deps), location);
  };
}
