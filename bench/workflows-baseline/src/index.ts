// Benchmark baseline: the same 5-step no-op chain as the engine's `selftest` job, on Cloudflare Workflows.
// POST /run {"callback": "http://127.0.0.1:PORT/hook", "steps": 5} → 202 {"id"}; once the steps are done the
// instance POSTs {"status":"completed","job_id":id} to the callback, as the engine's job-end callback does.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

interface BaselineEnv {
  WF: Workflow<ChainParams>;
}

interface ChainParams {
  callback: string;
  steps: number;
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

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "POST") return json({ ok: true }, 200);
    const body = (await request.json()) as { callback: string; steps?: number };
    const params: ChainParams = { callback: body.callback, steps: body.steps ?? 5 };
    if (url.pathname === "/run") {
      const instance = await env.WF.create({ params });
      return json({ id: instance.id }, 202);
    }
    return json({ error: "not found" }, 404);
  },
} satisfies ExportedHandler<BaselineEnv>;
