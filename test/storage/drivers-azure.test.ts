import { inject } from "vitest";
import { AzureBlobDriver } from "../../src/storage/azure-blob";
import { azuriteSas, createContainer } from "../support/storage-servers";
import { driverContract } from "./contract";

const container = await createContainer(inject("azuriteUrl"), "contract");

driverContract("Azure Blob (azurite)", {
  driver: () => new AzureBlobDriver({ containerUrl: container, sasToken: `?${azuriteSas()}`, fetch }),
  badCredentials: () => new AzureBlobDriver({ containerUrl: container, sasToken: azuriteSas().replace(/sig=[^&]+/, "sig=AAAA"), fetch }),
});
