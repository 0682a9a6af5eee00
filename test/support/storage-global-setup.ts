import type { TestProject } from "vitest/node";
import { startAzurite, startS3Server } from "./storage-servers";

/** vitest globalSetup of the `storage` project: the local S3 and Azure servers, their URLs provided to tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [s3, azurite] = await Promise.all([startS3Server(), startAzurite()]);
  project.provide("s3Url", s3.url);
  project.provide("azuriteUrl", azurite.url);
  return async () => {
    await Promise.all([s3.stop(), azurite.stop()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    s3Url: string;
    azuriteUrl: string;
  }
}
