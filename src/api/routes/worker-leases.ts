import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { coordinatorFor } from "../../coordinator/stub";
import type { WorkerAnswer, WorkerCall } from "../../protocol/worker-calls";
import type { RemoteAssignment } from "../../coordinator/job-spec";
import { sha256Hex } from "../../domain/digest";
import { PoolName as PoolNameText } from "../../domain/client-config";
import { workerPoolFor } from "../../pool/stub";
import { errorMessage } from "../../domain/errors";
import type { PoolOffer } from "../../protocol/pool";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { leaseAddress, newLeaseId } from "../lease-id";
import { openDrmKeys } from "../../domain/lease-keys";
import { newRouter } from "../router";
import { bodyErrorResponses, ErrorBody } from "../schemas";

export const PoolName = PoolNameText.openapi({ example: "media" });

const errorBody = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });
export const workerSecurity = [{ workerBearer: [] }];
const workerErrors = {
  400: errorBody("Bad input"),
  401: errorBody("Missing, wrong or revoked pool token"),
  429: errorBody("Too many failed authentications from this address (Retry-After)"),
  ...bodyErrorResponses,
} as const;
const leaseErrors = {
  ...workerErrors,
  404: errorBody("No such lease (for this token)"),
  409: errorBody("The lease's attempt has ended (completed, failed, timed out, taken back or cancelled)"),
} as const;

const LeaseRequest = z.object({
  pool: PoolName,
  worker_id: z.string().min(1).max(128).openapi({ example: "media-host-1#4242" }),
  label: z.string().max(200).optional().openapi({ description: "The worker's host, for operators" }),
  capabilities: z.array(z.string().max(64)).max(32).optional(),
  max: z.number().int().min(1).max(8).default(1),
  wait_s: z.number().min(0).max(25).default(20).openapi({ description: "Long poll: answer as soon as a task is ready, or after this many seconds" }),
  holding: z.number().int().min(0).max(1000).default(0).openapi({ description: "Leases the worker holds now (shown to operators)" }),
});

const FileRoot = z.object({ read: z.boolean(), write: z.boolean() });
const Lease = z
  .object({
    lease_id: z.string().openapi({ description: "Grants this attempt only: its files, heartbeats and report, until the attempt ends" }),
    job_id: z.string(),
    client: z.string(),
    workflow: z.string(),
    task: z.string(),
    task_id: z.string(),
    attempt: z.number().int(),
    executor: z.string(),
    input: z.unknown(),
    deadline: z.string().openapi({ description: "When the lease ends unless a heartbeat extends it (UTC)" }),
    heartbeat_s: z.number().int(),
    timeout_s: z.number().int().openapi({ description: "The attempt's hard cap, whatever the heartbeats" }),
    files: z.record(z.string(), FileRoot).openapi({ description: "The file roots of the lease's file API: `output` is the attempt's folder of the job's work folder; `source` (read-only) a folder of the client's storage" }),
  })
  .openapi("Lease");

const leaseRoute = createRoute({
  method: "post",
  path: "/workers/lease",
  summary: "Lease ready tasks of a pool (long poll ≤ 25 s)",
  security: workerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: LeaseRequest } } } },
  responses: {
    200: { description: "Leases", content: { "application/json": { schema: z.object({ leases: z.array(Lease) }) } } },
    204: { description: "Nothing to do within wait_s" },
    403: errorBody("The token belongs to another pool"),
    ...workerErrors,
  },
});

const LeaseParam = z.object({ lease_id: z.string().min(1).max(600).openapi({ param: { name: "lease_id", in: "path" } }) });

const heartbeatRoute = createRoute({
  method: "post",
  path: "/workers/leases/{lease_id}/heartbeat",
  summary: "Extend a lease, report progress; answers whether to stop",
  security: workerSecurity,
  request: {
    params: LeaseParam,
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({ progress: z.number().min(0).max(100).optional(), phase: z.string().max(64).optional(), message: z.string().max(500).optional() }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The lease's new deadline, and `cancel: true` once the job was broken or the task taken back",
      content: { "application/json": { schema: z.object({ deadline: z.string().nullable(), cancel: z.boolean() }) } },
    },
    ...leaseErrors,
  },
});

const completeRoute = createRoute({
  method: "post",
  path: "/workers/leases/{lease_id}/complete",
  summary: "Report the attempt succeeded (repeating it answers 200 again)",
  security: workerSecurity,
  request: { params: LeaseParam, body: { required: true, content: { "application/json": { schema: z.object({ output: z.unknown().optional().openapi({ description: "The task's result (any JSON): what later tasks and the job callback use" }) }) } } } },
  responses: { 200: { description: "Recorded", content: { "application/json": { schema: z.object({ result: z.literal("completed") }) } } }, ...leaseErrors },
});

const failRoute = createRoute({
  method: "post",
  path: "/workers/leases/{lease_id}/fail",
  summary: "Report the attempt failed; the task's retry policy decides what follows",
  security: workerSecurity,
  request: {
    params: LeaseParam,
    body: { required: true, content: { "application/json": { schema: z.object({ error: z.string().min(1).max(2000), retryable: z.boolean().default(true) }) } } },
  },
  responses: { 200: { description: "Recorded", content: { "application/json": { schema: z.object({ result: z.literal("failed") }) } } }, ...leaseErrors },
});

/** The worker API's lease calls (workers.md). */
export const workerLeaseRoutes = newRouter()
  .openapi(leaseRoute, async (c) => {
    const ask = c.req.valid("json");
    const token = c.get("workerToken");
    if (token.pool !== ask.pool) throw new ApiError(403, "forbidden", `This token belongs to pool '${token.pool}', not '${ask.pool}'.`);
    const pool = workerPoolFor(c.env.WORKER_POOL, ask.pool);
    const until = Date.now() + ask.wait_s * 1000;
    // A worker that goes away while its poll waits (killed, restarted, timed out) must not be handed offers.
    const pollId = crypto.randomUUID();
    c.req.raw.signal.addEventListener("abort", () => c.executionCtx.waitUntil(pool.abandon(pollId)), { once: true });
    const leases: z.infer<typeof Lease>[] = [];
    // Offers that turn out stale (a paused, broken or retried job) are dropped, and the poll goes on.
    while (leases.length === 0 && !c.req.raw.signal.aborted) {
      const offers = await pool.lease({ workerId: ask.worker_id, label: ask.label ?? "", tokenId: token.tokenId, client: token.client, max: ask.max, waitMs: Math.max(0, until - Date.now()), holding: ask.holding, pollId });
      if (offers.length === 0) break;
      // Offers are settled once handled (claimed, or refused as stale). One not handled (the worker went away
      // first, or its claim failed) is left to its hold and offered again: no lease is made for nobody.
      const handled: PoolOffer[] = [];
      for (const offer of offers) {
        if (c.req.raw.signal.aborted) break;
        const leaseId = newLeaseId(offer);
        try {
          const claim = await coordinatorFor(c.env.JOB_COORDINATOR, offer.jobId).claimRemote(offer.task, offer.attempt, await sha256Hex(leaseId));
          if (claim.ok) {
            const input = await leaseInput(c, leaseId, claim.assignment);
            if (input !== undefined) leases.push(leaseView(leaseId, { ...claim.assignment, input }, c.get("config").workerLeaseMs));
          }
          handled.push(offer);
        } catch (error) {
          console.error(JSON.stringify({ level: "error", message: "claim for a worker failed", job_id: offer.jobId, task: offer.task, error: errorMessage(error) }));
        }
      }
      await pool.settle(handled);
    }
    if (leases.length === 0) return c.body(null, 204);
    return c.json({ leases }, 200);
  })
  .openapi(heartbeatRoute, async (c) => {
    const body = c.req.header("content-type") ? c.req.valid("json") : {};
    const answer = ok(await callLease(c, c.req.valid("param").lease_id, { type: "heartbeat", progress: body.progress, phase: body.phase }));
    return c.json({ deadline: answer.deadline === null ? null : new Date(answer.deadline).toISOString(), cancel: answer.cancel }, 200);
  })
  .openapi(completeRoute, async (c) => {
    ok(await callLease(c, c.req.valid("param").lease_id, { type: "complete", output: c.req.valid("json").output ?? null }));
    return c.json({ result: "completed" as const }, 200);
  })
  .openapi(failRoute, async (c) => {
    const { error, retryable } = c.req.valid("json");
    ok(await callLease(c, c.req.valid("param").lease_id, { type: "fail", error, retryable }));
    return c.json({ result: "failed" as const }, 200);
  });

/**
 * The input the worker gets: as stored, with sealed DRM keys opened (media.md, DRM: keys reach only the
 * worker's lease input). Keys that cannot be opened (the deployment's DRM_KEY_SECRET changed or went since
 * they were fetched) fail the attempt for good: every retry of the task would get the same sealed keys. A
 * rerun of the job fetches new ones. The lease is then not handed out.
 */
async function leaseInput(c: Context<AppEnv>, leaseId: string, assignment: RemoteAssignment): Promise<unknown> {
  try {
    return await openDrmKeys(assignment.jobId, assignment.input, c.env.DRM_KEY_SECRET);
  } catch (error) {
    await callLease(c, leaseId, { type: "fail", error: `the task's DRM keys could not be opened (${errorMessage(error)}): was DRM_KEY_SECRET changed? A rerun of the job fetches new keys`, retryable: false });
    return undefined;
  }
}

/** Hands a call on a lease to its job's coordinator, with the caller's pool and client scope. */
export async function callLease(c: Context<AppEnv>, leaseId: string, call: WorkerCall): Promise<WorkerAnswer> {
  const address = leaseAddress(leaseId);
  if (!address) return { status: "unknown" };
  const token = c.get("workerToken");
  return coordinatorFor(c.env.JOB_COORDINATOR, address.jobId).workerCall(address.task, address.attempt, await sha256Hex(leaseId), { pool: token.pool, client: token.client }, call);
}

/** An answer the route may use, or the API error of a refusal. */
export function ok(answer: WorkerAnswer): Extract<WorkerAnswer, { status: "ok" }> {
  if (answer.status === "unknown") throw new ApiError(404, "not_found", "No such lease.");
  if (answer.status === "conflict") throw new ApiError(409, "conflict", answer.message);
  return answer;
}

function leaseView(leaseId: string, assignment: RemoteAssignment, leaseMs: number): z.infer<typeof Lease> {
  return {
    lease_id: leaseId,
    job_id: assignment.jobId,
    client: assignment.client,
    workflow: assignment.workflow,
    task: assignment.task,
    task_id: assignment.taskId,
    attempt: assignment.attempt,
    executor: assignment.executor,
    input: assignment.input,
    deadline: new Date(assignment.deadline).toISOString(),
    heartbeat_s: Math.max(1, Math.floor(leaseMs / 3000)),
    timeout_s: Math.round(assignment.timeoutMs / 1000),
    files: { output: { read: true, write: true }, ...Object.fromEntries(Object.keys(assignment.roots).map((name) => [name, { read: true, write: false }])) },
  };
}
