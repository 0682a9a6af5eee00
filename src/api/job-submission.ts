import { endpointProblem } from "../domain/endpoints";
import { poolOf } from "../coordinator/planning";
import { poolServes } from "../db/worker-tokens";
import { DEFAULT_ROOT_KEY, INPUT_ROOT_KEY, defaultStorage, locationOf, rootFolder, storageProblem, type StorageConfig } from "../domain/storage-config";
import type { Workflow } from "../workflows/definition";
import { findWorkflow, workflowNames } from "../workflows/registry";
import { ApiError, clip, validationError, zodDetails, type ErrorDetail } from "./errors";
import type { JobRequest } from "./schemas";

export interface ValidSubmission {
  workflow: Workflow;
  /** Parameters after validation, with defaults filled. */
  parameters: Record<string, unknown>;
  /** Submitted keys the workflow does not know: kept, and reported in the job log. */
  ignoredKeys: string[];
  endpoints: string[];
  contentId: string | null;
}

/** Checks a job request against its workflow: the workflow exists, the parameters fit, the endpoints are allowed. */
export function validateSubmission(request: JobRequest, headerClient: string, allowPrivateCallbacks: boolean): ValidSubmission {
  if (request.client !== undefined && request.client !== headerClient) {
    throw new ApiError(403, "forbidden", "The client in the body does not match the client header.");
  }
  const workflow = findWorkflow(request.job.workflow);
  if (!workflow) {
    throw new ApiError(400, "validation_failed", `Unknown workflow '${clip(request.job.workflow, 100)}'. Available workflows: ${workflowNames().join(", ")}.`, [
      { path: "job.workflow", message: `must be one of: ${workflowNames().join(", ")}` },
    ]);
  }
  const parsed = workflow.parameters.safeParse(request.parameters);
  if (!parsed.success) throw validationError(zodDetails(parsed.error, ["parameters"]));
  const parameters = parsed.data as Record<string, unknown>;
  const endpoints = (parameters.rest_endpoints as string[] | undefined) ?? [];
  const problems: ErrorDetail[] = [];
  endpoints.forEach((endpoint, index) => {
    const problem = endpointProblem(endpoint, allowPrivateCallbacks);
    if (problem) problems.push({ path: `parameters.rest_endpoints[${index}]`, message: `callback URL ${problem}` });
  });
  // A media source the worker fetches itself is checked like a callback URL (media.md, Sources).
  if (typeof parameters.source === "string") {
    const problem = endpointProblem(parameters.source, allowPrivateCallbacks);
    if (problem) problems.push({ path: "parameters.source", message: `source URL ${problem}` });
  }
  // vodcapture's clips name their streams the same way.
  // Only a workflow whose schema declares clips has checked their shape; other workflows pass unknown keys through.
  if (knownKeys(workflow).has("clips") && Array.isArray(parameters.clips)) {
    (parameters.clips as { source?: string; sources?: string[] }[]).forEach((clip, i) => {
      const urls = clip.sources ?? (clip.source === undefined ? [] : [clip.source]);
      urls.forEach((url, j) => {
        const problem = endpointProblem(url, allowPrivateCallbacks);
        if (problem) problems.push({ path: clip.sources ? `parameters.clips[${i}].sources[${j}]` : `parameters.clips[${i}].source`, message: `source URL ${problem}` });
      });
    });
  }
  if (problems.length > 0) throw validationError(problems);
  return {
    workflow,
    parameters,
    ignoredKeys: Object.keys(request.parameters).filter((key) => !knownKeys(workflow).has(key)),
    endpoints,
    contentId: typeof parameters.content_id === "string" ? parameters.content_id : null,
  };
}

/** Parameters that name a storage (reference §3, common parameters). */
const STORAGE_PARAMETERS = ["source_storage", "destination_storage"] as const;

/** Whether the workflow touches storage, so its submission needs the client's storage configuration. */
export function usesStorage(workflow: Workflow): boolean {
  const keys = knownKeys(workflow);
  return STORAGE_PARAMETERS.some((name) => keys.has(name));
}

/**
 * Fills absent storage parameters with the client's default storage and checks that every storage named is
 * configured for the client and has the root the job works under (`output_root`, or the root key that
 * parameter names; `input_root` for the storage a `source_folder` is read from) configured; else 400
 * (workflows.md, Storage). A root the operator did not configure is
 * never read as "the top of the bucket".
 */
export function resolveStorageParameters(submission: ValidSubmission, storage: StorageConfig): void {
  const keys = knownKeys(submission.workflow);
  const parameters = submission.parameters;
  const problems: ErrorDetail[] = [];
  const outputRoot = typeof parameters.output_root === "string" ? parameters.output_root : DEFAULT_ROOT_KEY;
  for (const name of STORAGE_PARAMETERS) {
    // A `source_folder` is below the client's input root (media.md, Sources); everything else below the output root.
    // `source_root` (createmp4) names another root to read it from: `output_root` for a VOD asset.
    const sourceRoot = typeof parameters.source_root === "string" ? parameters.source_root : INPUT_ROOT_KEY;
    const rootKey = name === "source_storage" && keys.has("source_folder") ? sourceRoot : outputRoot;
    if (!keys.has(name)) continue;
    // destination_storage defaults to the source storage where the workflow has one.
    parameters[name] ??= name === "destination_storage" && typeof parameters.source_storage === "string" ? parameters.source_storage : defaultStorage(storage);
    const location = locationOf(storage, parameters[name] as string);
    if (!location) problems.push({ path: `parameters.${name}`, message: storageProblem(storage, parameters[name] as string)! });
    else if (rootFolder(location, rootKey) === null) {
      const configured = Object.keys(location.roots).sort();
      problems.push({
        path: name === "source_storage" && typeof parameters.source_root === "string" ? "parameters.source_root" : typeof parameters.output_root === "string" && rootKey === outputRoot ? "parameters.output_root" : `parameters.${name}`,
        message: `root '${rootKey}' is not configured for storage '${parameters[name]}' (configured roots: ${configured.length > 0 ? configured.join(", ") : "none"})`,
      });
    }
  }
  if (problems.length > 0) throw validationError(problems);
}

const knownKeysCache = new WeakMap<Workflow, Set<string>>();

/** The parameter names a workflow's schema declares. */
function knownKeys(workflow: Workflow): Set<string> {
  let keys = knownKeysCache.get(workflow);
  if (!keys) {
    keys = new Set(Object.keys(objectShape(workflow.parameters)));
    knownKeysCache.set(workflow, keys);
  }
  return keys;
}

/** The shape of an object schema, looking through refinements and pipes. */
function objectShape(schema: unknown): Record<string, unknown> {
  const def = (schema as { def?: { shape?: Record<string, unknown>; in?: unknown; schema?: unknown } }).def;
  if (!def) return {};
  if (def.shape) return def.shape;
  if (def.in) return objectShape(def.in);
  if (def.schema) return objectShape(def.schema);
  return {};
}

/**
 * Refuses (400) a job with a task on a worker pool that no active token can lease for this client: such a
 * task would wait for a worker that cannot exist (a typo in `runs_on`, a pool not set up yet). Jobs that run
 * only on the edge read nothing here.
 */
export async function requireWorkerPools(db: D1Database, submission: ValidSubmission, client: string, clientPools: () => Record<string, string> | undefined): Promise<void> {
  const pools = new Set<string>();
  for (const task of submission.workflow.tasks(submission.parameters)) {
    const pool = task.runsOn === undefined ? null : poolOf(task.runsOn, clientPools());
    if (pool !== null) pools.add(pool);
  }
  for (const pool of pools) {
    if (await poolServes(db, pool, client)) continue;
    const message = `no worker can take this job's tasks of pool '${pool}': the operator creates a worker token for it (POST /admin/pools/${pool}/tokens)`;
    throw validationError([{ path: typeof submission.parameters.runs_on === "string" ? "parameters.runs_on" : "job.workflow", message }]);
  }
}
