// Benchmark baselines on Cloudflare Workflows (not part of the product), see ../wrangler.toml.
//
// POST /fair {"callback", "tasks", "content_id", "client", "workflow", "custom_data"} → 202 {"id"}: FairChain,
//   the engine's contract built the way a user would: one step per task that POSTs a signed `start` callback,
//   runs the (no-op) task and POSTs a signed `complete` callback, then a step that POSTs the signed job
//   callback. Same bodies and Standard Webhooks headers as the engine (callbacks.md). A POST that fails
//   (network error, timeout, non-2xx) throws inside its step, so the step is retried: the durability a user
//   gets. The webhook-id is derived from the instance and the sequence, so a retried step sends the same id.
// POST /run {"callback", "steps"} → 202 {"id"}: BaselineChain, `steps` no-op steps, then one unsigned
//   {"status":"completed","job_id"} notice sent outside a step (the bare floor, a second line).
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

interface BaselineEnv {
  WF: Workflow<ChainParams>;
  FAIR: Workflow<FairParams>;
  /** whsec_… : signs the fair baseline's callbacks. */
  SIGNING_SECRET: string;
}

interface ChainParams {
  callback: string;
  steps: number;
}

interface FairParams {
  callback: string;
  tasks: number;
  content_id: string;
  client: string;
  workflow: string;
  custom_data: Record<string, string> | null;
}

export class BaselineChain extends WorkflowEntrypoint<BaselineEnv, ChainParams> {
  override async run(event: Readonly<WorkflowEvent<ChainParams>>, step: WorkflowStep): Promise<unknown> {
    const { callback, steps } = event.payload;
    for (let i = 1; i <= steps; i++) await step.do(`task_${i}`, async () => i);
    // The completion notice is sent outside a step, like a plain notification after the last task.
    await fetch(callback, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "completed", job_id: event.instanceId }),
    });
    return steps;
  }
}

/** Retries of a step whose callback failed (the engine's schedule starts at 5 s, too). */
const STEP = { retries: { limit: 7, delay: "5 seconds", backoff: "exponential" }, timeout: "1 minute" } as const;

export class FairChain extends WorkflowEntrypoint<BaselineEnv, FairParams> {
  override async run(event: Readonly<WorkflowEvent<FairParams>>, step: WorkflowStep): Promise<unknown> {
    const job = event.payload;
    const jobId = event.instanceId;
    const send = (body: { sequence: number; [field: string]: unknown }): Promise<void> =>
      postSigned(job.callback, `msg_${jobId}_${body.sequence}`, JSON.stringify(body), this.env.SIGNING_SECRET);
    for (let i = 1; i <= job.tasks; i++) {
      await step.do(`task_${i}`, STEP, async ({ attempt }) => {
        const task = { job_id: jobId, task_id: `${jobId}-${i}`, task_name: `task_${i}`, workflow: job.workflow };
        const body = (event: string, sequence: number) => ({
          ...task,
          event,
          content_id: job.content_id,
          message: "",
          time: new Date().toISOString(),
          client: job.client,
          sequence,
          attempt,
        });
        await send(body("start", 2 * i - 1));
        // The task itself: a no-op, like the engine's selftest task with task_ms 0.
        await send(body("complete", 2 * i));
        return i;
      });
    }
    await step.do("job_end", STEP, () =>
      send({
        job_id: jobId,
        status: "completed",
        workflow: job.workflow,
        content_id: job.content_id,
        custom_data: job.custom_data,
        time: new Date().toISOString(),
        client: job.client,
        sequence: 2 * job.tasks + 1,
        message: `${job.tasks} tasks completed (chain)`,
      }),
    );
    return job.tasks;
  }
}

/** POSTs one callback with the Standard Webhooks headers; throws unless the endpoint answers 2xx. */
async function postSigned(url: string, id: string, body: string, secret: string): Promise<void> {
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "bench-workflows-baseline",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await sign(secret, `${id}.${timestamp}.${body}`),
    },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(15_000),
  });
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) throw new Error(`callback ${id}: HTTP ${response.status}`);
}

/** `v1,<base64 HMAC-SHA256>` keyed with the base64 part of a `whsec_` secret. */
async function sign(secret: string, content: string): Promise<string> {
  const raw = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(content)));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "POST") return json({ ok: true }, 200);
    if (url.pathname === "/fair") {
      const body = (await request.json()) as Partial<FairParams> & { callback: string };
      const params: FairParams = {
        callback: body.callback,
        tasks: body.tasks ?? 5,
        content_id: body.content_id ?? "bench",
        client: body.client ?? "bench",
        workflow: body.workflow ?? "selftest",
        custom_data: body.custom_data ?? null,
      };
      const instance = await env.FAIR.create({ params });
      return json({ id: instance.id }, 202);
    }
    if (url.pathname === "/run") {
      const body = (await request.json()) as { callback: string; steps?: number };
      const instance = await env.WF.create({ params: { callback: body.callback, steps: body.steps ?? 5 } });
      return json({ id: instance.id }, 202);
    }
    return json({ error: "not found" }, 404);
  },
} satisfies ExportedHandler<BaselineEnv>;
