import { env } from "cloudflare:workers";
import { R2Driver } from "../../src/storage/r2";
import { driverContract } from "../storage/contract";

// The R2 driver against the real MEDIA binding in workerd: the same contract as the S3 and Azure drivers.
driverContract("R2 (MEDIA binding, workerd)", { driver: () => new R2Driver(env.MEDIA) });
