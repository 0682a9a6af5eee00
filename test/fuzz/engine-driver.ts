import type { Credentials, FuzzContext } from "./fuzz-context.ts";
import type { HttpClient } from "./http-client.ts";
import { activity, coordinatorFiles, normaliseJob, readCoordinator, readD1, type Snapshot } from "./state-snapshot.ts";

/**
 * The fuzzer's own requests, apart from the fuzzed ones: snapshots of the state (which also refresh the
 * context the arbitraries draw from), restoring the fuzzed client's working conditions after an accepted
 * change, and waiting until the engine is quiet.
 */

/**
 * content_id of the job that holds the fuzzed client's only slot, so fuzzed jobs stay queued and inert. Its
 * one task fails at once and waits an hour for its retry: the job stays `started` without running anything
 * (a running task would hold the local task consumer, and other jobs' tasks behind it).
 */
export const SLOT_HOLDER = "fuzz-slot-holder";
const SLOT_HOLDER_PARAMETERS = { content_id: SLOT_HOLDER, tasks: 1, fail_task: "task_1", fail_times: 100 };

/** The fuzzed client's settings, restored after every accepted change: a huge rate limit, one slot, no retries. */
export const MAIN_SETTINGS: Record<string, string> = {
  rate_limit: "100000",
  rate_burst: "100000",
  max_jobs: "1",
  priority_slots: "0",
  retry_limit: "0",
  retry_delay: "0",
  callback_retry_schedule: "0",
};
const OTHER_SETTINGS: Record<string, string> = { rate_limit: "100000", rate_burst: "100000" };

interface JobListing {
  id: string;
  queue_state: string;
  failed: boolean;
  parameters?: { content_id?: string };
}

export class EngineDriver {
  /** Requests the driver sent (snapshots, restores), apart from the fuzzed ones. */
  requests = 0;
  /** Why each wait for quiet timed out. */
  readonly unsettled: string[] = [];
  private ipCounter = 0;

  constructor(
    readonly http: HttpClient,
    readonly ctx: FuzzContext,
    readonly d1File: string,
    /** The engine's persisted state directory (for the coordinators' storage). */
    readonly persistTo: string,
    /** Jobs the set-up made: fuzzed changes go mostly to other jobs (valid-values.ts). */
    readonly seeded: Set<string>,
  ) {}

  /** The client's headers, from an address of its own (never the fuzzed requests' addresses). */
  headersOf(client: Credentials): Record<string, string> {
    return { client: client.name, "api-key": client.apiKey, "cf-connecting-ip": this.nextIp() };
  }

  adminHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.ctx.adminToken}`, "cf-connecting-ip": this.nextIp() };
  }

  /** One request that must succeed (2xx); its JSON answer. */
  async call<T>(method: string, target: string, headers: Record<string, string>, body?: unknown): Promise<{ body: T; headers: Record<string, string> }> {
    this.requests++;
    const response = await this.http.json<T>(method, target, headers, body);
    if (response.status < 200 || response.status >= 300) throw new Error(`${method} ${target} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response;
  }

  /** Every job of a client (GET /jobs, all pages of 100). */
  async listJobs(client: Credentials): Promise<JobListing[]> {
    const jobs: JobListing[] = [];
    let target: string | null = "/jobs?limit=100";
    while (target) {
      const page: { body: JobListing[]; headers: Record<string, string> } = await this.call<JobListing[]>("GET", target, this.headersOf(client));
      jobs.push(...page.body);
      target = /<([^>]+)>;\s*rel="next"/.exec(page.headers.link ?? "")?.[1] ?? null;
    }
    return jobs;
  }

  /** The state (API reads and D1), and the context refreshed from it. */
  async snapshot(): Promise<Snapshot> {
    const { ctx } = this;
    const api: Record<string, unknown> = {};
    const [own, foreign] = await Promise.all([this.listJobs(ctx.main), this.listJobs(ctx.other)]);
    api[`jobs ${ctx.main.name}`] = own.map(normaliseJob);
    api[`jobs ${ctx.other.name}`] = foreign.map(normaliseJob);
    const seededReads = own.filter((job) => this.seeded.has(job.id) && job.queue_state !== "started");
    await Promise.all(
      seededReads.map(async (job) => {
        api[`job ${job.id}`] = normaliseJob((await this.call("GET", `/jobs/${job.id}`, this.headersOf(ctx.main))).body);
      }),
    );
    const [health, schedules, dashboard, cursorPage] = await Promise.all([
      this.call<{ jobs: unknown }>("GET", "/health", this.headersOf(ctx.main)),
      this.call("GET", "/schedules", this.headersOf(ctx.main)),
      this.call<Record<string, unknown>>("GET", "/dashboard", this.headersOf(ctx.main)),
      this.call("GET", "/jobs?limit=2&order_by=priority", this.headersOf(ctx.main)),
    ]);
    api.health = health.body.jobs;
    api.schedules = schedules.body;
    api.dashboard = { ...dashboard.body, started: (dashboard.body.started as unknown[]).map(normaliseJob) };
    const clients = [ctx.main.name, ctx.other.name, ...ctx.sacrificial.map((client) => client.name)];
    const admin = await Promise.all(clients.map((name) => this.call<{ keys: { key_id: string; revoked_at: string | null }[] }>("GET", `/admin/clients/${name}`, this.adminHeaders())));
    clients.forEach((name, index) => (api[`admin ${name}`] = admin[index]!.body));

    // The context follows the state.
    ctx.ownJobs = own.map((job) => ({ id: job.id, state: job.queue_state, failed: job.failed, seeded: this.seeded.has(job.id) }));
    ctx.foreignJobs = foreign.map((job) => ({ id: job.id, state: job.queue_state, failed: job.failed, seeded: true }));
    ctx.sacrificial = ctx.sacrificial.map((client, index) => ({
      name: client.name,
      activeKeyIds: admin[index + 2]!.body.keys.filter((key) => !key.revoked_at).map((key) => key.key_id),
    }));
    const cursor = /[?&]cursor=([^&>]+)/.exec(cursorPage.headers.link ?? "")?.[1];
    if (cursor && !ctx.cursors.includes(decodeURIComponent(cursor))) ctx.cursors = [...ctx.cursors.slice(-9), decodeURIComponent(cursor)];
    this.holderWaiting = own.some((job) => job.parameters?.content_id === SLOT_HOLDER && (job.queue_state === "started" || job.queue_state === "queued"));
    this.hasCompleted = own.some((job) => job.queue_state === "completed" && !job.failed);
    this.hasFailed = own.some((job) => job.queue_state === "completed" && job.failed);
    return { api, d1: readD1(this.d1File), coordinators: this.readSeededCoordinators(own) };
  }

  /** The coordinators of the seeded jobs that are not running (a running one changes on its own). */
  private readSeededCoordinators(own: JobListing[]): Record<string, string[]> {
    const quiet = own.filter((job) => this.seeded.has(job.id) && job.queue_state !== "started").map((job) => job.id);
    const files = coordinatorFiles(this.persistTo, this.coordinatorCache);
    const digest: Record<string, string[]> = {};
    for (const id of quiet) {
      const file = files.get(id);
      if (!file) continue;
      for (const [table, rows] of Object.entries(readCoordinator(file))) digest[`${id} ${table}`] = rows;
    }
    return digest;
  }

  private readonly coordinatorCache = new Map<string, string | null>();

  private holderWaiting = true;
  private hasCompleted = true;
  private hasFailed = true;

  /**
   * After an accepted change: the fuzzed clients' settings back, a slot holder in the slot, a completed and a
   * failed job to aim at; then waits until the engine is quiet. False when it did not quieten in time.
   */
  async restore(): Promise<boolean> {
    const { ctx } = this;
    await this.putSettings(ctx.main, MAIN_SETTINGS);
    await this.putSettings(ctx.other, OTHER_SETTINGS);
    if (!this.holderWaiting) await this.submitSlotHolder();
    if (!this.hasCompleted || !this.hasFailed) {
      // Two more slots for a moment: the new jobs have priority 1, so they go first.
      if (!this.hasCompleted) this.seeded.add(await this.submit(ctx.main, { content_id: "seed-completed", tasks: 1, rest_endpoints: [`${ctx.sinkUrl}/hook/seed`] }, 1));
      if (!this.hasFailed) this.seeded.add(await this.submit(ctx.main, { content_id: "seed-failed", tasks: 1, fail_task: "task_1", fail_times: 5 }, 1));
      await this.call("POST", "/settings", this.headersOf(ctx.main), { name: "max_jobs", setting: "3" });
      const quiet = await this.settle();
      await this.call("POST", "/settings", this.headersOf(ctx.main), { name: "max_jobs", setting: "1" });
      if (!quiet) return false;
    }
    return this.settle();
  }

  /**
   * Lets the queued fuzzed jobs run (100 slots) until the engine is quiet, then one slot again: their
   * parameters, callbacks and body templates go through the coordinator, the executors and the consumers.
   * Returns how many of the fuzzed client's jobs ended meanwhile.
   */
  async drain(): Promise<number> {
    const ended = () => this.ctx.ownJobs.filter((job) => job.state === "completed" || job.state === "broken").length;
    await this.snapshot();
    const before = ended();
    await this.putSettings(this.ctx.main, { ...MAIN_SETTINGS, max_jobs: "100" });
    const quiet = await this.settle(90_000);
    await this.putSettings(this.ctx.main, MAIN_SETTINGS);
    await this.snapshot();
    if (!quiet) throw new Error(`the fuzzed jobs did not finish within 90 s (${this.unsettled[this.unsettled.length - 1]})`);
    return ended() - before;
  }

  /** A new slot holder (priority 1: it takes the slot next), submitted while retries are slow, then settings back. */
  async submitSlotHolder(): Promise<string> {
    await this.putSettings(this.ctx.main, { retry_limit: "1", retry_delay: "3600" });
    const id = await this.submit(this.ctx.main, { ...SLOT_HOLDER_PARAMETERS, rest_endpoints: [`${this.ctx.sinkUrl}/hook/seed`] }, 1);
    await this.putSettings(this.ctx.main, MAIN_SETTINGS);
    this.seeded.add(id);
    return id;
  }

  async submit(client: Credentials, parameters: Record<string, unknown>, priority = 5, job: Record<string, unknown> = {}): Promise<string> {
    const response = await this.call<{ id: string }>("POST", "/job", this.headersOf(client), { job: { workflow: "selftest", priority, ...job }, parameters });
    return response.body.id;
  }

  /** Sets the settings whose D1 value differs. */
  async putSettings(client: Credentials, settings: Record<string, string>): Promise<void> {
    const current = new Map((readD1(this.d1File).settings ?? []).map((row) => JSON.parse(row) as { client: string; name: string; value: string }).filter((row) => row.client === client.name).map((row) => [row.name, row.value]));
    for (const [name, setting] of Object.entries(settings)) {
      if (current.get(name) !== setting) await this.call("POST", "/settings", this.headersOf(client), { name, setting });
    }
  }

  /**
   * Waits until nothing moves: no started job but slot holders, no callback waiting for delivery, and the
   * D1 state the same twice in a row 300 ms apart.
   */
  async settle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let previous = "";
    let why = "";
    while (Date.now() < deadline) {
      const now = activity(this.d1File, coordinatorFiles(this.persistTo, this.coordinatorCache).values());
      const digest = JSON.stringify(readD1(this.d1File));
      const running = now.started.filter((job) => job.contentId !== SLOT_HOLDER);
      why = running.length > 0 ? `started: ${running.map((job) => `${job.id} (${job.contentId})`).join(", ")}` : now.pendingCallbacks > 0 ? `${now.pendingCallbacks} callbacks pending` : "D1 changing";
      const busy = running.length > 0 || now.pendingCallbacks > 0;
      if (!busy && digest === previous) return true;
      previous = busy ? "" : digest;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    this.unsettled.push(why);
    return false;
  }

  /** Polls GET /jobs/{id} until `until` holds. */
  async waitForJob(client: Credentials, id: string, until: (job: { queue_state: string }) => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await this.call<{ queue_state: string }>("GET", `/jobs/${id}`, this.headersOf(client))).body;
      if (until(job)) return;
      if (Date.now() > deadline) throw new Error(`job ${id} stayed ${job.queue_state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private nextIp(): string {
    const n = this.ipCounter++;
    return `10.255.${(n >> 8) & 255}.${n & 255}`;
  }
}
