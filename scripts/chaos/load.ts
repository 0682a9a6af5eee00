import type { Receiver } from "../../test/e2e/receiver.ts";
import type { EngineApi } from "./api.ts";
import type { EngineProcess } from "./engine-process.ts";
import type { LogEntry, TrackedJob } from "./figures.ts";
import { seededRandom } from "./random.ts";
import type { PlannedJob } from "./workload.ts";

/** The drill's moving parts while it runs: the clients' load, the kills, and the wait for everything to end. */

export interface ClientAuth {
  name: string;
  headers: Record<string, string>;
}

/** A job the engine accepted, with what the drill planned for it. */
export interface Submitted extends TrackedJob {
  plan: PlannedJob;
  client: ClientAuth;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Submits the workload on its schedule and runs each job's action (pause and resume, rerun). */
export class Load {
  readonly jobs: Submitted[] = [];
  /** What the drill could not do as planned (a request refused, an unexpected answer). */
  readonly errors: string[] = [];
  posted = 0;
  reruns = 0;
  pausedAndResumed = 0;
  private readonly api: EngineApi;
  private readonly clients: readonly ClientAuth[];
  private readonly receivers: readonly Receiver[];
  private readonly seed: number;
  private readonly note: (message: string) => void;

  constructor(api: EngineApi, clients: readonly ClientAuth[], receivers: readonly Receiver[], seed: number, note: (message: string) => void) {
    this.api = api;
    this.clients = clients;
    this.receivers = receivers;
    this.seed = seed;
    this.note = note;
  }

  async run(plan: readonly PlannedJob[], start: number): Promise<void> {
    const work: Promise<void>[] = [];
    for (const job of plan) {
      await sleep(start + job.atMs - Date.now());
      work.push(this.one(job).catch((error: unknown) => void this.errors.push(`job ${job.index}: ${String(error)}`)));
    }
    await Promise.all(work);
  }

  private async one(plan: PlannedJob): Promise<void> {
    const client = this.clients[plan.client]!;
    const endpoints = plan.endpoints.map((endpoint) => this.receivers[endpoint.receiver]!.url(endpoint.path));
    // The key makes the submission safe to repeat when a kill swallowed the answer: one job, whatever happens.
    const headers = { ...client.headers, "idempotency-key": `chaos-${this.seed}-${plan.index}` };
    const body = { job: { workflow: plan.workflow }, parameters: { ...plan.parameters, rest_endpoints: endpoints } };
    const answer = await this.api.retrying<{ id: string }>("POST", "/job", headers, body);
    if (answer.status !== 202 && answer.status !== 200) throw new Error(`POST /job answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const job: Submitted = { id: answer.body.id, shape: plan.shape, endpoints, replaced: false, plan, client };
    this.jobs.push(job);
    this.posted++;
    if (plan.action === "none") return;
    await sleep(plan.actionDelayMs);
    if (plan.action === "pause") await this.pauseAndResume(job, plan.actionDelayMs);
    else await this.rerun(job);
  }

  private async pauseAndResume(job: Submitted, pauseMs: number): Promise<void> {
    const path = `/jobs/${job.id}`;
    const paused = await this.api.retrying("PATCH", path, job.client.headers, { queue_state: "paused" });
    // 409: the job ended first; nothing to resume.
    if (paused.status === 409) return;
    if (paused.status !== 200) throw new Error(`PATCH paused answered ${paused.status}: ${JSON.stringify(paused.body)}`);
    await sleep(pauseMs);
    // A resume whose answer a kill swallowed is sent again, until the job is seen no longer paused.
    for (;;) {
      const resumed = await this.api.retrying("PATCH", path, job.client.headers, { queue_state: "queued" });
      if (resumed.status !== 200 && resumed.status !== 409) throw new Error(`PATCH queued answered ${resumed.status}: ${JSON.stringify(resumed.body)}`);
      const now = await this.api.retrying<{ queue_state: string }>("GET", path, job.client.headers);
      if (now.body.queue_state !== "paused") break;
      await sleep(200);
    }
    this.pausedAndResumed++;
  }

  /** A rerun is safe to repeat (a job has one replacement), so one whose answer a kill swallowed is sent again. */
  private async rerun(job: Submitted): Promise<void> {
    const answer = await this.api.retrying<{ job_id: string }>("POST", `/jobs/${job.id}/rerun`, job.client.headers);
    if (answer.status !== 202 && answer.status !== 200) throw new Error(`POST /jobs/${job.id}/rerun answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    job.replaced = true;
    // The rerun has the original's parameters, so the same endpoints.
    this.jobs.push({ ...job, id: answer.body.job_id, replaced: false });
    this.reruns++;
    this.note(`rerun of ${job.id}: ${answer.body.job_id}`);
  }
}

/**
 * `kills` SIGKILLs at random moments of the load window (and up to 6 s after it), each followed by a pause
 * of 0.2–2.5 s (often longer than the leases) and a restart on the same state.
 */
export async function killAtRandom(engine: EngineProcess, kills: number, seed: number, spanMs: number, start: number, note: (message: string) => void): Promise<void> {
  const random = seededRandom(seed * 104729 + 17);
  const times = Array.from({ length: kills }, () => random.int(1_500, spanMs + 6_000)).sort((a, b) => a - b);
  for (const at of times) {
    await sleep(start + at - Date.now());
    const downMs = random.int(200, 2_500);
    await engine.kill();
    note(`kill ${engine.kills} at ${((Date.now() - start) / 1000).toFixed(1)} s; down ${downMs} ms`);
    await sleep(downMs);
    const restarting = Date.now();
    await engine.start();
    note(`restarted in ${Date.now() - restarting} ms`);
  }
}

/**
 * Waits until every job ended and every callback of the delivery logs settled (delivered or failed), or the
 * deadline; returns whether everything settled. Jobs are polled through `GET /jobs?job_ids=`, a delivery log
 * once its job ended.
 */
export async function drain(api: EngineApi, jobs: readonly Submitted[], deadline: number, note: (message: string) => void): Promise<boolean> {
  const ended = new Set<string>();
  const settled = new Set<string>();
  let lastNote = Date.now();
  for (;;) {
    const waiting = new Map<string, Submitted[]>();
    for (const job of jobs) if (!ended.has(job.id)) waiting.set(job.client.name, [...(waiting.get(job.client.name) ?? []), job]);
    for (const group of waiting.values()) {
      for (let i = 0; i < group.length; i += 100) {
        const ids = group.slice(i, i + 100).map((job) => job.id);
        const page = await api.retrying<{ id: string; queue_state: string }[]>("GET", `/jobs?limit=100&job_ids=${ids.join(",")}`, group[0]!.client.headers);
        for (const job of page.status === 200 ? page.body : []) if (job.queue_state === "completed" || job.queue_state === "broken") ended.add(job.id);
      }
    }
    for (const job of jobs) {
      if (!ended.has(job.id) || settled.has(job.id)) continue;
      const log = await api.retrying<LogEntry[]>("GET", `/jobs/${job.id}/callbacks`, job.client.headers);
      if (log.status === 200 && log.body.length > 0 && log.body.every((entry) => entry.state === "delivered" || entry.state === "failed")) settled.add(job.id);
    }
    if (settled.size === jobs.length) return true;
    if (Date.now() > deadline) return false;
    if (Date.now() - lastNote > 10_000) {
      lastNote = Date.now();
      note(`draining: ${ended.size}/${jobs.length} jobs ended, ${settled.size} with every callback settled`);
    }
    await sleep(1_000);
  }
}
