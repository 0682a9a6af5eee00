// Benchmark baseline for bench/callbacks.ts (see wrangler.toml): callback bodies through a Cloudflare Queue to
// an HTTP endpoint, with nothing else (no delivery log, no ordering, no signatures).
//
// POST /emit {"job_id", "endpoints": [url…], "events": n} → enqueues n bodies per endpoint (sequence 1…n), each
// with `time` = now; 202 {"queued"}.

interface CallbacksBaselineEnv {
  DELIVERIES: Queue<Delivery>;
}

interface Delivery {
  endpoint: string;
  body: Record<string, unknown>;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/emit") return json({ error: "not found" }, 404);
    const { job_id: jobId, endpoints, events } = (await request.json()) as { job_id: string; endpoints: string[]; events: number };
    const time = new Date().toISOString();
    const messages: MessageSendRequest<Delivery>[] = [];
    for (const endpoint of endpoints) {
      for (let sequence = 1; sequence <= events; sequence++) {
        // The shape and size of the engine's task callback (callbacks.md).
        const body = {
          job_id: jobId,
          task_id: `${jobId}-t${sequence}`,
          task_name: `task_${sequence}`,
          workflow: "selftest",
          event: sequence % 2 === 1 ? "start" : "complete",
          content_id: "bench",
          message: "",
          time,
          client: "bench",
          sequence,
          attempt: 1,
        };
        messages.push({ body: { endpoint, body } });
      }
    }
    for (let i = 0; i < messages.length; i += 100) await env.DELIVERIES.sendBatch(messages.slice(i, i + 100));
    return json({ queued: messages.length }, 202);
  },

  async queue(batch, _env) {
    await Promise.all(
      batch.messages.map(async (message) => {
        try {
          const response = await fetch(message.body.endpoint, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(message.body.body),
            signal: AbortSignal.timeout(15_000),
          });
          await response.body?.cancel();
          if (response.ok) message.ack();
          else message.retry();
        } catch {
          message.retry();
        }
      }),
    );
  },
} satisfies ExportedHandler<CallbacksBaselineEnv, Delivery>;
