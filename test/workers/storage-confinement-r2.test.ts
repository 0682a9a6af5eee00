import { env } from "cloudflare:workers";
import { R2Driver } from "../../src/storage/r2";
import { confinementProperty } from "../storage/confinement";

// The confinement property on the R2 driver, against the real MEDIA binding in workerd.
confinementProperty("R2 (MEDIA binding, workerd)", { storage: "R2", location: { driver: "r2", binding: "MEDIA" }, driver: () => new R2Driver(env.MEDIA) });
