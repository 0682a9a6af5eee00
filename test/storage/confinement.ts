import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors";
import { resolveStorageParameters, validateSubmission } from "../../src/api/job-submission";
import type { JobRequest } from "../../src/api/schemas";
import { StorageConfig, type StorageLocationConfig } from "../../src/domain/storage-config";
import type { ExecutorContext } from "../../src/executors/executor";
import { findExecutor } from "../../src/executors/registry";
import type { ListOptions, PutBody, StorageDriver } from "../../src/storage/driver";
import { StorageLocation } from "../../src/storage/location";
import { findWorkflow } from "../../src/workflows/registry";
import { NO_DRM } from "../support/no-drm";

/**
 * Storage confinement by construction (P5), as a property: for generated requests of every workflow that
 * touches storage (root keys, folders, file lists, content ids, storage names, the hostile ones among them),
 * a request is either refused at submission, or every key its tasks touch lies under the root it names of
 * its own client, and nothing outside that root changes. Run against each real driver (R2 in workerd,
 * s3rver, azurite), through the same validation and executors as a job.
 */

/** A location's driver and credentials, without the roots the property sets (Omit over each kind of location). */
type LocationWithoutRoots = StorageLocationConfig extends infer L ? (L extends unknown ? Omit<L, "roots" | "shared"> : never) : never;

export interface ConfinementOptions {
  /** A driver for the bucket or container under test. */
  driver: () => StorageDriver;
  /** The client's location (driver and credentials); its roots are set by the property. */
  location: LocationWithoutRoots;
  /** The storage name the client configures it under. */
  storage: "S3" | "azure_blob" | "R2" | "local";
  runs?: number;
}

/** One storage call, as the recording driver saw it. */
interface Touch {
  op: string;
  key: string;
}

/** Records every key and prefix handed to the driver, then passes the call on. */
class RecordingDriver implements StorageDriver {
  readonly touched: Touch[] = [];
  constructor(private readonly inner: StorageDriver) {}
  get kind() {
    return this.inner.kind;
  }
  list(prefix: string, options?: ListOptions) {
    this.touched.push({ op: "list", key: prefix });
    return this.inner.list(prefix, options);
  }
  head(key: string) {
    this.touched.push({ op: "head", key });
    return this.inner.head(key);
  }
  get(key: string) {
    this.touched.push({ op: "get", key });
    return this.inner.get(key);
  }
  put(key: string, body: PutBody, options?: { contentType?: string }) {
    this.touched.push({ op: "put", key });
    return this.inner.put(key, body, options);
  }
  copy(from: string, to: string) {
    this.touched.push({ op: "copy", key: from }, { op: "copy", key: to });
    return this.inner.copy(from, to);
  }
  move(from: string, to: string) {
    this.touched.push({ op: "move", key: from }, { op: "move", key: to });
    return this.inner.move(from, to);
  }
  delete(keys: string[]) {
    for (const key of keys) this.touched.push({ op: "delete", key });
    return this.inner.delete(keys);
  }
  deletePrefix(prefix: string) {
    this.touched.push({ op: "deletePrefix", key: prefix });
    return this.inner.deletePrefix(prefix);
  }
}

const DRM = `<smil><head><param name="iss.license_server_url" value="x"/></head></smil>`;
const CLEAR = `<smil><head></head></smil>`;
/** What each root holds at the start of a case (relative to the root). */
const SEEDED: Record<string, string> = {
  "asset/a.mp4": "a",
  "asset/b.mp4": "b",
  "asset/sub/c.mp4": "c",
  "asset/demo1_drm_g1.ism": DRM,
  "asset/1700000000_g2_demo1.drm": CLEAR,
};

// Mostly requests a client would send, with hostile values mixed in: both sides of the property get tried.
const hostileNames = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype"];
const rootKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(undefined, "output_root", "scratch_root") },
  // input_root is a name the reference uses, but this client has no such root: never the top of the bucket.
  { weight: 2, arbitrary: fc.constantFrom("input_root", "archive_root", ...hostileNames) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const pathPart = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("asset", "asset/sub", "asset/a.mp4", "asset/sub/c.mp4", "asset/demo1_drm_g1.ism", "asset/", "missing") },
  { weight: 1, arbitrary: fc.constantFrom("..", ".", "../scratch/asset", "asset/../..", "asset/../../other", "/asset", "a//b", "asset\\..\\x", "asset\u0000", "%2e%2e/x", "asset/./a.mp4", " asset", "") },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z./\\_-]{1,14}$/) },
);
const contentId = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("demo1", "other") },
  { weight: 1, arbitrary: fc.constantFrom("..", ".", "sub/dir", "../x", "a\\b", "demo1\u0000", "demo1/", " demo1") },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const storageName = (own: string) =>
  fc.oneof({ weight: 8, arbitrary: fc.constantFrom(undefined, own) }, { weight: 1, arbitrary: fc.constantFrom("S3", "R2", "azure_blob", "local", "__proto__", "GCS") });

function requests(own: string) {
  const common = { source_storage: storageName(own), output_root: rootKey };
  return fc.oneof(
    fc.record({ workflow: fc.constant("voddelete"), parameters: fc.record({ folder: pathPart, content_id: fc.option(contentId, { nil: undefined }), ...common }, { requiredKeys: ["folder"] }) }),
    fc.record({ workflow: fc.constant("asset_delete"), parameters: fc.record({ content_id: contentId, files: fc.array(pathPart, { minLength: 1, maxLength: 4 }), ...common }, { requiredKeys: ["content_id", "files"] }) }),
    fc.record({ workflow: fc.constant("drmswitch"), parameters: fc.record({ content_id: contentId, folder: pathPart, enable_drm: fc.boolean(), ...common }, { requiredKeys: ["content_id", "folder"] }) }),
  );
}

/** The property over one driver. */
export function confinementProperty(name: string, options: ConfinementOptions): void {
  describe(`storage confinement on ${name}`, () => {
    it("a request is refused, or touches only keys under the root it names of its own client", { timeout: 180_000 }, async () => {
      const run = `confine-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
      const roots = { output_root: `${run}/tenant/out`, scratch_root: `${run}/tenant/scratch` };
      // Beside the roots: a sibling whose name only starts like a root, the roots' parent, another tenant.
      const outside = [`${run}/tenant/out-sibling/asset/a.mp4`, `${run}/tenant/outX.mp4`, `${run}/tenant/asset/a.mp4`, `${run}/other/asset/a.mp4`, `${run}/other/out/asset/demo1_drm_g1.ism`];
      const config = StorageConfig.parse({ default: options.storage, locations: { [options.storage]: { ...options.location, roots } } });
      const location = config.locations[options.storage]!;
      const base = options.driver();
      for (const key of outside) await base.put(key, `not this client's: ${key}`);
      let ran = 0;
      let refused = 0;

      await fc.assert(
        fc.asyncProperty(requests(options.storage), async ({ workflow, parameters }) => {
          for (const root of Object.values(roots)) for (const [path, body] of Object.entries(SEEDED)) await base.put(`${root}/${path}`, body);
          const request = { job: { workflow, priority: 5, persist: false }, parameters } as JobRequest;
          let accepted: Record<string, unknown>;
          try {
            const submission = validateSubmission(request, "tenant", true);
            resolveStorageParameters(submission, config);
            accepted = submission.parameters;
          } catch (error) {
            if (!(error instanceof ApiError) || error.status !== 400) throw error;
            refused++;
            return;
          }
          ran++;
          const driver = new RecordingDriver(base);
          await runWorkflow(workflow, accepted, new StorageLocation(options.storage, driver, location));
          const key = (accepted.output_root as string | undefined) ?? "output_root";
          // Own keys only: the test must not make the mistake it looks for.
          const root = Object.hasOwn(roots, key) ? roots[key as keyof typeof roots] : undefined;
          expect(root, `accepted a root the client does not have: ${JSON.stringify(accepted)}`).toBeDefined();
          for (const touch of driver.touched) expect(touch.key.startsWith(`${root}/`), `${touch.op} ${JSON.stringify(touch.key)} for ${JSON.stringify(accepted)}`).toBe(true);
          for (const key of outside) expect(await base.head(key), `${key} after ${JSON.stringify(accepted)}`).not.toBeNull();
        }),
        // A fixed seed (FC_SEED replaces it): the suite answers the same every run.
        { numRuns: options.runs ?? 100, endOnFailure: true, seed: Number(process.env.FC_SEED) || 20_261_130 },
      );
      // The property must have tried both sides: requests that ran and requests that were refused.
      expect(ran).toBeGreaterThan((options.runs ?? 100) / 5);
      expect(refused).toBeGreaterThan((options.runs ?? 100) / 20);
    });
  });
}

/** Runs a workflow's tasks in order as the engine would (each with its input from earlier outputs), until one fails. */
async function runWorkflow(name: string, parameters: Record<string, unknown>, location: StorageLocation): Promise<void> {
  const workflow = findWorkflow(name)!;
  const outputs: Record<string, unknown> = {};
  for (const task of workflow.tasks(parameters)) {
    if (task.when && !task.when(parameters)) continue;
    const input = task.input ? task.input(parameters, outputs) : parameters;
    const ctx: ExecutorContext = {
      jobId: "job",
      client: "tenant",
      taskName: task.name,
      attempt: 1,
      // These workflows leave nothing in a work folder.
      work: { get: async () => null, list: async () => [], clear: async () => undefined },
      signal: new AbortController().signal,
      log: () => undefined,
      progress: () => undefined,
      drm: NO_DRM,
      storage: async (storage) => {
        if (storage !== location.name) throw new Error(`the job asked for storage ${storage}, not its own ${location.name}`);
        return location;
      },
    };
    try {
      outputs[task.name] = await findExecutor(task.executor)!(input, ctx);
    } catch {
      return; // The job fails here; what matters is what it touched on the way.
    }
  }
}
