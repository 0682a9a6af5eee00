import { inject } from "vitest";
import { AzureBlobDriver } from "../../src/storage/azure-blob";
import { S3Driver } from "../../src/storage/s3";
import { azuriteSas, createContainer, S3_CREDENTIALS } from "../support/storage-servers";
import { confinementProperty } from "./confinement";

// The confinement property on the S3 driver (s3rver behind a SigV4-checking proxy) and on Azure Blob (azurite).
const s3Url = inject("s3Url");
const s3 = { endpoint: s3Url, bucket: "media", region: S3_CREDENTIALS.region, path_style: true, access_key_id: S3_CREDENTIALS.accessKeyId, secret_access_key: S3_CREDENTIALS.secretAccessKey };
confinementProperty("S3 (s3rver)", {
  storage: "S3",
  location: { driver: "s3", ...s3 },
  driver: () => new S3Driver({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, pathStyle: true, accessKeyId: s3.access_key_id, secretAccessKey: s3.secret_access_key, fetch }),
});

const container = await createContainer(inject("azuriteUrl"), "confinement");
confinementProperty("Azure Blob (azurite)", {
  storage: "azure_blob",
  location: { driver: "azure_blob", container_url: container, sas_token: `?${azuriteSas()}` },
  driver: () => new AzureBlobDriver({ containerUrl: container, sasToken: `?${azuriteSas()}`, fetch }),
});
