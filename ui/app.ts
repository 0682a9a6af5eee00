import { createClient, TaskEngineError, type Job, type TaskEngineClient } from "../client/index.ts";

/**
 * The dashboard (/ui): one page, routes in the URL's fragment (#/jobs, #/jobs/<id>, #/submit), on the typed
 * client. Credentials live in sessionStorage: this tab only, never a cookie or a URL. Pages that show running
 * jobs poll every 2 s (a server-sent stream would hold a Worker request open per viewer; a 2 s poll is one
 * cheap read). Every element is built with the DOM API (no HTML from data), so nothing a job carries can
 * become markup.
 */

const POLL_MS = 2000;
const main = document.getElementById("main")!;
const status = document.getElementById("status")!;
let timer: ReturnType<typeof setInterval> | undefined;
/** The route being shown: a page whose awaits return after the route changed draws nothing and polls no more. */
let generation = 0;

type Child = Node | string | null | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | boolean | ((event: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

function session(): { client: string; apiKey: string } | null {
  const client = sessionStorage.getItem("te.client");
  const apiKey = sessionStorage.getItem("te.key");
  return client && apiKey ? { client, apiKey } : null;
}

function api(): TaskEngineClient {
  const credentials = session()!;
  return createClient({ baseUrl: location.origin, ...credentials });
}

function say(message: string): void {
  status.textContent = message;
}

function show(...children: Child[]): void {
  main.replaceChildren(...children.filter((child): child is Node | string => Boolean(child)));
}

/** Whether route `mine` is still the one shown. */
function mineOf(mine: number): boolean {
  return mine === generation;
}

/** Polls `tick` every 2 s while route `mine` is shown; it stops when `tick` says so or the route changes. */
function poll(mine: number, tick: () => Promise<boolean>): void {
  const interval = setInterval(async () => {
    if (mine !== generation) return clearInterval(interval);
    if (!(await tick()) || mine !== generation) clearInterval(interval);
  }, POLL_MS);
  timer = interval;
}

function problem(error: unknown): HTMLElement {
  const text = error instanceof TaskEngineError ? `${error.message}${error.details.length ? ` (${error.details.map((detail) => `${detail.path}: ${detail.message}`).join("; ")})` : ""}` : String((error as Error).message ?? error);
  return h("div", { class: "alert", role: "alert" }, text);
}

// ─── sign in ────────────────────────────────────────────────────────────────────────────────────────────────

function signIn(message?: string): void {
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    message ? h("div", { class: "alert", role: "alert" }, message) : null,
    h("label", { for: "client" }, "Client name"),
    h("input", { id: "client", name: "client", autocomplete: "username", required: true }),
    h("label", { for: "api-key" }, "API key"),
    // autocomplete off: a password manager would keep the key beyond this tab.
    h("input", { id: "api-key", name: "api-key", type: "password", autocomplete: "off", required: true }),
    h("p", { class: "hint" }, "Kept in this tab only; closing it signs you out."),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const client = String(data.get("client") ?? "").trim();
    const apiKey = String(data.get("api-key") ?? "");
    try {
      // A cheap authenticated read (one job of the listing) proves the pair before anything is kept.
      await createClient({ baseUrl: location.origin, client, apiKey }).jobs.getJobs({ limit: 1 });
      sessionStorage.setItem("te.client", client);
      sessionStorage.setItem("te.key", apiKey);
      location.hash = "#/jobs";
      route();
    } catch (error) {
      signIn(error instanceof TaskEngineError && error.status === 401 ? "The client name or the API key is wrong." : `Could not sign in: ${(error as Error).message}`);
    }
  });
  show(form);
  document.getElementById("client")?.focus();
}

// ─── jobs ───────────────────────────────────────────────────────────────────────────────────────────────────

const STATES = ["", "queued", "started", "completed", "pending", "broken", "scheduled", "paused"];

function jobsPage(query: URLSearchParams): void {
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs" },
    field("State", h("select", { name: "state" }, ...STATES.map((state) => option(state, state || "any", query.get("state") ?? "")))),
    field("Failed", h("select", { name: "failed" }, option("", "any", query.get("failed") ?? ""), option("1", "failed", query.get("failed") ?? ""), option("0", "not failed", query.get("failed") ?? ""))),
    field("Workflow", h("input", { name: "workflow", value: query.get("workflow") ?? "", size: "12" })),
    field("Search", h("input", { name: "search", type: "search", value: query.get("search") ?? "", size: "14" })),
    field("From", h("input", { name: "from", type: "datetime-local", value: query.get("from") ?? "" })),
    field("To", h("input", { name: "to", type: "datetime-local", value: query.get("to") ?? "" })),
    h("button", { type: "submit" }, "Filter"),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(filters)) if (String(value) !== "") next.set(name, String(value));
    location.hash = `#/jobs?${next}`;
  });
  const body = h("div", {});
  show(h("h1", {}, "Jobs"), filters, body, h("p", { class: "hint" }, "Updated every 2 s while this page is open."));
  const mine = generation;
  let drawn = "";
  const load = async (): Promise<boolean> => {
    try {
      const cursor = query.get("cursor") ?? undefined;
      const parameters = {
        limit: 25,
        state: query.get("state") ?? undefined,
        failed: query.get("failed") ?? undefined,
        workflow: query.get("workflow") ?? undefined,
        search: query.get("search") ?? undefined,
        from: query.get("from") ? new Date(query.get("from")!).toISOString() : undefined,
        to: query.get("to") ? new Date(query.get("to")!).toISOString() : undefined,
        cursor,
      };
      const response = await fetchPage(parameters);
      // Unchanged data is not drawn again: focus and scroll stay where the reader left them.
      const text = JSON.stringify(response);
      if (mine === generation && text !== drawn) {
        drawn = text;
        body.replaceChildren(jobsTable(response.jobs), pager(query, response.next));
      }
      return true;
    } catch (error) {
      if (mine === generation && drawn !== "error") {
        drawn = "error";
        body.replaceChildren(problem(error));
      }
      return !(error instanceof TaskEngineError && error.status === 401);
    }
  };
  void load();
  poll(mine, load);
}

/** One page of GET /jobs and the cursor of the next (from its Link header). */
async function fetchPage(parameters: Record<string, string | number | undefined>): Promise<{ jobs: Job[]; next: string | null }> {
  const search = new URLSearchParams(Object.entries(parameters).filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(value)]));
  const credentials = session()!;
  const response = await fetch(`/jobs?${search}`, { headers: { client: credentials.client, "api-key": credentials.apiKey } });
  if (!response.ok) throw await TaskEngineError.from(response);
  const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "");
  return { jobs: (await response.json()) as Job[], next: link ? new URL(link[1]!, location.origin).searchParams.get("cursor") : null };
}

function jobsTable(jobs: Job[]): HTMLElement {
  if (jobs.length === 0) return h("p", {}, "No jobs match.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Job"), h("th", { scope: "col" }, "Workflow"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Progress"), h("th", { scope: "col", class: "hide-narrow" }, "Created"))),
      h(
        "tbody",
        {},
        ...jobs.map((job) =>
          h(
            "tr",
            {},
            h("td", {}, h("a", { href: `#/jobs/${job.id}` }, job.id)),
            h("td", {}, job.workflow),
            h("td", {}, stateLabel(job)),
            h("td", {}, h("progress", { max: "100", value: String(job.progress), "aria-label": `${job.id} progress` }), ` ${job.progress}%`),
            h("td", { class: "hide-narrow" }, new Date(job.created_at).toLocaleString()),
          ),
        ),
      ),
    ),
  );
}

function pager(query: URLSearchParams, next: string | null): HTMLElement {
  const first = new URLSearchParams(query);
  first.delete("cursor");
  const following = new URLSearchParams(query);
  if (next) following.set("cursor", next);
  return h("nav", { class: "pager", "aria-label": "Pages" }, query.get("cursor") ? h("a", { href: `#/jobs?${first}` }, "First page") : null, next ? h("a", { href: `#/jobs?${following}` }, "Next page") : null);
}

function stateLabel(job: Job): HTMLElement {
  return h("span", { class: `state ${job.failed ? "failed" : job.queue_state}` }, job.failed ? `${job.queue_state} (failed)` : job.queue_state);
}

function field(label: string, control: HTMLElement): HTMLElement {
  const id = `f-${label.toLowerCase().replace(/\W+/g, "-")}`;
  control.id = id;
  return h("div", {}, h("label", { for: id }, label), control);
}

function option(value: string, label: string, selected: string): HTMLOptionElement {
  return h("option", { value, selected: value === selected }, label);
}

// ─── a job ──────────────────────────────────────────────────────────────────────────────────────────────────

interface LogLine {
  created_at: string;
  severity_description: string;
  message: string;
  task_id: string | null;
}

async function jobPage(id: string): Promise<void> {
  const client = api();
  const mine = generation;
  // Refusals and errors stay shown across refreshes (a refresh rebuilds the page below them).
  const notices = h("div", { "aria-live": "polite" });
  // The action buttons are kept across refreshes while the job's state is the same, so that a refresh never
  // takes a button away from under a pointer or the keyboard focus.
  let kept: { key: string; bar: HTMLElement } | null = null;
  let drawn = "";
  /** Shows the job; says whether it is still worth polling. */
  const render = async (): Promise<boolean> => {
    try {
      const [job, log, deliveries] = await Promise.all([client.jobs.getJobsById(id), client.logs.getLogsById(id, { show_all: "1" }), client.jobs.getJobsByIdCallbacks(id)]);
      if (mine !== generation) return false;
      const ended = job.queue_state === "completed" || job.queue_state === "broken";
      // An ended job is followed until no callback is still on its way (a redelivery, say).
      const follow = !ended || deliveries.some((delivery) => delivery.state === "pending" || delivery.state === "in_flight");
      // Unchanged data is not drawn again: focus and scroll stay where the reader left them.
      const text = JSON.stringify([job, log, deliveries]);
      if (text === drawn) return follow;
      const first = drawn === "";
      drawn = text;
      const key = `${job.queue_state}/${job.failed}`;
      if (kept?.key !== key) kept = { key, bar: actions(client, job, notices) };
      show(
        h("h1", {}, `Job ${job.id}`),
        notices,
        h("p", {}, `${job.workflow} · `, stateLabel(job), ` · ${job.progress}% · created ${new Date(job.created_at).toLocaleString()}`),
        kept.bar,
        h("h2", {}, "Timeline"),
        timeline(job, log as LogLine[]),
        h("h2", {}, "Tasks and their graph"),
        taskTable(job),
        h("h2", {}, "Callback deliveries"),
        deliveryTable(client, id, deliveries, notices),
        h("h2", {}, "Log"),
        h("pre", { tabindex: "0", "aria-label": "Job log" }, ...(log as LogLine[]).map((line) => h("span", { class: `sev-${line.severity_description.toLowerCase()}` }, `${line.created_at}  ${line.severity_description.padEnd(5)}  ${line.message}\n`))),
        h("h2", {}, "Parameters"),
        h("pre", { tabindex: "0", "aria-label": "Parameters" }, JSON.stringify(job.parameters ?? {}, null, 2)),
        h("h2", {}, "Result"),
        h("pre", { tabindex: "0", "aria-label": "Result" }, JSON.stringify(job.result ?? null, null, 2)),
      );
      if (ended && !first) say(`Job ${job.queue_state}`);
      return follow;
    } catch (error) {
      if (mine !== generation) return false;
      const gone = error instanceof TaskEngineError && (error.status === 404 || error.status === 401);
      if (gone || drawn === "") {
        show(h("h1", {}, "Job"), error instanceof TaskEngineError && error.status === 404 ? h("div", { class: "alert", role: "alert" }, `Job ${id} not found.`) : problem(error));
        return false;
      }
      // A passing failure (a 429, the network) is shown once, and the next refresh tries again.
      notices.replaceChildren(problem(error));
      return true;
    }
  };
  if (await render()) poll(mine, render);
}

/** The actions the API allows in the job's state; a refusal (409) shows the API's message. */
function actions(client: TaskEngineClient, job: Job, notices: HTMLElement): HTMLElement {
  const bar = h("div", { class: "actions", role: "group", "aria-label": "Job actions" });
  const act = (label: string, run: () => Promise<unknown>, secondary = false) =>
    h(
      "button",
      {
        type: "button",
        class: secondary ? "secondary" : "",
        onclick: async () => {
          try {
            await run();
            say(`${label}: done`);
            route();
          } catch (error) {
            notices.replaceChildren(problem(error));
          }
        },
      },
      label,
    );
  const state = job.queue_state;
  if (state === "started" || state === "queued" || state === "scheduled") bar.append(act("Pause", () => client.jobs.patchJobsById(job.id, { queue_state: "paused" })));
  if (state === "paused") bar.append(act("Resume", () => client.jobs.patchJobsById(job.id, { queue_state: "queued" })));
  if (state !== "completed" && state !== "broken") bar.append(act("Break", () => client.jobs.patchJobsById(job.id, { queue_state: "broken" }), true));
  // The API retries a failed job, or a broken one, in place.
  if ((state === "completed" || state === "broken") && job.failed) bar.append(act("Retry", () => client.jobs.postJobsByIdRetry(job.id)));
  bar.append(act("Rerun", async () => {
    const rerun = await client.jobs.postJobsByIdRerun(job.id);
    location.hash = `#/jobs/${rerun.id}`;
  }, true));
  return bar;
}

/**
 * A Gantt chart of the job's tasks: each attempt a bar from its start (the log's "started" line) to its end
 * (the failure line, or the task's end), the wait before a retry hatched.
 */
function timeline(job: Job, log: LogLine[]): HTMLElement {
  const tasks = job.tasks ?? [];
  const start = Date.parse(job.created_at);
  const times = [Date.now(), ...tasks.map((task) => Date.parse(task.ended_at ?? "") || 0)].filter(Boolean);
  const end = job.queue_state === "completed" || job.queue_state === "broken" ? Math.max(start + 1, ...tasks.map((task) => Date.parse(task.ended_at ?? "") || start)) : Math.max(...times);
  const span = Math.max(1, end - start);
  const at = (time: number) => `${(((time - start) / span) * 100).toFixed(2)}%`;
  const width = (from: number, to: number) => `${Math.max(0.3, ((to - from) / span) * 100).toFixed(2)}%`;
  const lanes = tasks.map((task) => {
    const lines = log.filter((line) => line.task_id === task.task_id);
    const started = new RegExp(`^Task '${escapeRegExp(task.task_name)}' started`);
    const failed = new RegExp(`^'${escapeRegExp(task.task_name)}' failed: `);
    const bars: HTMLElement[] = [];
    let opened: number | null = null;
    let attempt = 0;
    for (const line of lines) {
      const time = Date.parse(line.created_at);
      if (started.test(line.message)) {
        if (opened === null && bars.length > 0) bars.push(bar("wait", bars.length ? Number(bars.at(-1)!.dataset.end) : time, time, "waiting to retry"));
        opened = time;
        attempt++;
      } else if (failed.test(line.message) && opened !== null) {
        bars.push(bar("fail", opened, time, `attempt ${attempt} failed`));
        opened = null;
      }
    }
    if (opened !== null) {
      const ended = Date.parse(task.ended_at ?? "");
      bars.push(bar(Number.isFinite(ended) ? (task.state === "failed" ? "fail" : "complete") : "running", opened, Number.isFinite(ended) ? ended : Date.now(), `attempt ${attempt} ${task.state}`));
    }
    return h("div", { class: "lane" }, h("span", {}, task.task_name), h("div", { class: "track", role: "img", "aria-label": `${task.task_name}: ${attempt} attempt${attempt === 1 ? "" : "s"}, ${task.state}` }, ...bars));
  });
  function bar(kind: string, from: number, to: number, title: string): HTMLElement {
    const element = h("span", { class: `span ${kind}`, title });
    element.style.left = at(from);
    element.style.width = width(from, to);
    element.dataset.end = String(to);
    element.dataset.kind = kind;
    return element;
  }
  return h(
    "div",
    { class: "timeline" },
    ...lanes,
    h("div", { class: "legend" }, h("span", {}, h("i", { class: "swatch complete" }), "completed"), h("span", {}, h("i", { class: "swatch fail" }), "failed attempt"), h("span", {}, h("i", { class: "swatch wait" }), "retry wait"), h("span", {}, h("i", { class: "swatch running" }), "running")),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function taskTable(job: Job): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Tasks, with the tasks each waits for (the task graph)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "After"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "Progress"), h("th", { scope: "col" }, "Message"))),
      h("tbody", {}, ...(job.tasks ?? []).map((task) => h("tr", {}, h("td", {}, task.task_name), h("td", {}, task.needs.length > 0 ? task.needs.join(", ") : "(start)"), h("td", {}, task.state), h("td", {}, String(task.attempts)), h("td", {}, `${task.progress}%`), h("td", {}, task.message)))),
    ),
  );
}

function deliveryTable(client: TaskEngineClient, id: string, deliveries: Awaited<ReturnType<TaskEngineClient["jobs"]["getJobsByIdCallbacks"]>>, notices: HTMLElement): HTMLElement {
  if (deliveries.length === 0) return h("p", {}, "No callbacks (the job has no endpoints).");
  const byEndpoint = new Map<string, typeof deliveries>();
  for (const delivery of deliveries) byEndpoint.set(delivery.endpoint, [...(byEndpoint.get(delivery.endpoint) ?? []), delivery]);
  return h(
    "div",
    {},
    ...[...byEndpoint].map(([endpoint, list]) =>
      h(
        "div",
        { class: "table-wrap" },
        h("h3", {}, endpoint),
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Attempts (status, duration, error)"), h("th", { scope: "col" }, ""))),
          h(
            "tbody",
            {},
            ...list.map((delivery) =>
              h(
                "tr",
                {},
                h("td", {}, String(delivery.sequence)),
                h("td", {}, delivery.event),
                h("td", {}, delivery.state),
                h("td", {}, h("ol", { class: "attempts" }, ...delivery.attempts.map((attempt) => h("li", {}, `${attempt.status ?? "no answer"}, ${attempt.duration_ms} ms${attempt.error ? `, ${attempt.error}` : ""}`)))),
                h(
                  "td",
                  {},
                  h(
                    "button",
                    {
                      type: "button",
                      class: "secondary",
                      "aria-label": `Redeliver callback ${delivery.sequence}`,
                      // The API sends again only a callback that is not already on its way.
                      disabled: delivery.state === "pending" || delivery.state === "in_flight",
                      onclick: async () => {
                        try {
                          await client.jobs.postJobsByIdCallbacksByCallbackIdRedeliver(id, delivery.callback_id);
                          say(`Callback ${delivery.sequence} sent again`);
                          // Shown again, and followed until the new attempt is made.
                          route();
                        } catch (error) {
                          notices.replaceChildren(problem(error));
                        }
                      },
                    },
                    "Redeliver",
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// ─── submit ─────────────────────────────────────────────────────────────────────────────────────────────────

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  anyOf?: Schema[];
}

async function submitPage(name: string | null): Promise<void> {
  const client = api();
  const mine = generation;
  const workflows = await client.workflows.getWorkflows();
  const chosen = name ?? workflows[0]?.name ?? "selftest";
  // Choosing a workflow changes nothing until "Show its form" (a change of context on a select is not expected).
  const picker = h("select", { id: "workflow" }, ...workflows.map((workflow) => option(workflow.name, workflow.name, chosen)));
  const open = h("button", { type: "button", class: "secondary", onclick: () => (location.hash = `#/submit/${picker.value}`) }, "Show its form");
  const workflow = await client.workflows.getWorkflowsByName(chosen);
  if (mine !== generation) return;
  const schema = workflow.parameters as Schema;
  const form = h("form", { "aria-label": `Parameters of ${chosen}`, novalidate: true });
  const controls = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
  for (const [property, definition] of Object.entries(schema.properties ?? {})) {
    const control = controlFor(property, definition, (workflow.example as Record<string, unknown>)[property]);
    controls.set(property, control);
    const required = schema.required?.includes(property);
    if (required) control.setAttribute("aria-required", "true");
    form.append(h("label", { for: control.id }, property, required ? " *" : "", definition.description ? h("span", { class: "hint" }, ` — ${definition.description}`) : null), control, h("div", { id: `${control.id}-error`, class: "error" }));
  }
  const outcome = h("div", {});
  form.append(h("p", {}, h("button", { type: "submit" }, `Submit ${chosen}`)), outcome);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const element of form.querySelectorAll(".error")) element.textContent = "";
    for (const control of controls.values()) control.removeAttribute("aria-invalid");
    const parameters: Record<string, unknown> = {};
    try {
      for (const [property, control] of controls) {
        const value = readControl(control, schema.properties![property]!);
        if (value !== undefined) parameters[property] = value;
      }
      const accepted = await client.job.postJob({ job: { workflow: chosen }, parameters });
      location.hash = `#/jobs/${accepted.id}`;
    } catch (error) {
      if (error instanceof TaskEngineError) {
        for (const detail of error.details) {
          const property = detail.path.replace(/^parameters\./, "").split(/[.[]/)[0]!;
          const slot = document.getElementById(`p-${property}-error`);
          if (slot) slot.textContent = detail.message;
          controls.get(property)?.setAttribute("aria-invalid", "true");
        }
      }
      outcome.replaceChildren(problem(error));
    }
  });
  show(h("h1", {}, "Submit a job"), h("label", { for: "workflow" }, "Workflow"), h("div", { class: "actions" }, picker, open), h("p", { class: "hint" }, workflow.description), form);
}

/**
 * How a parameter is entered: a choice (enum, boolean), a number, text, text that may be a number (an offset
 * such as `7.04` or `00:00:07.040`), or JSON for objects and arrays.
 */
function kindOf(definition: Schema): "enum" | "boolean" | "integer" | "number" | "string" | "text-or-number" | "json" {
  if (definition.enum) return "enum";
  if (definition.anyOf) return definition.anyOf.every((branch) => kindOf(branch) === "string" || kindOf(branch) === "enum") ? "string" : "json";
  const types = (Array.isArray(definition.type) ? definition.type : [definition.type]).filter((type): type is string => type !== undefined && type !== "null");
  if (types.length === 1 && ["boolean", "integer", "number", "string"].includes(types[0]!)) return types[0] as "boolean" | "integer" | "number" | "string";
  if (types.length > 1 && types.includes("string") && types.every((type) => ["string", "number", "integer"].includes(type))) return "text-or-number";
  return "json";
}

function controlFor(property: string, definition: Schema, example: unknown): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  const id = `p-${property}`;
  const described = { id, name: property, "aria-describedby": `${id}-error` };
  const initial = definition.default ?? example;
  switch (kindOf(definition)) {
    case "enum":
      return h("select", described, option("", "(default)", ""), ...definition.enum!.map((value) => option(String(value), String(value), initial === undefined ? "" : String(initial))));
    case "boolean":
      return h("select", described, option("", "(default)", ""), option("true", "true", ""), option("false", "false", ""));
    case "integer":
    case "number":
      return h("input", { ...described, type: "number", step: kindOf(definition) === "integer" ? "1" : "any", placeholder: initial === undefined ? "" : String(initial), ...(definition.minimum !== undefined ? { min: String(definition.minimum) } : {}), ...(definition.maximum !== undefined ? { max: String(definition.maximum) } : {}) });
    case "string":
    case "text-or-number":
      return h("input", { ...described, placeholder: initial === undefined ? "" : String(initial) });
    default:
      return h("textarea", { ...described, rows: "2", placeholder: initial === undefined ? "JSON" : JSON.stringify(initial) });
  }
}

function readControl(control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, definition: Schema): unknown {
  const text = control.value.trim();
  if (text === "") return undefined;
  switch (kindOf(definition)) {
    case "boolean":
      return text === "true";
    case "integer":
    case "number":
      return Number(text);
    case "enum":
    case "string":
      return text;
    case "text-or-number":
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    default:
      try {
        return JSON.parse(text);
      } catch {
        throw new TaskEngineError(400, "validation_failed", `${control.name}: not JSON`, [{ path: `parameters.${control.name}`, message: "must be JSON" }], null);
      }
  }
}

// ─── operator pages (behind the admin token) ───────────────────────────────────────────────────────────────

function adminToken(): string | null {
  return sessionStorage.getItem("te.admin");
}

function operator(): TaskEngineClient {
  return createClient({ baseUrl: location.origin, adminToken: adminToken()! });
}

function adminSignIn(message?: string): void {
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "admin-sign-in-title" },
    h("h1", { id: "admin-sign-in-title" }, "Operator sign in"),
    message ? h("div", { class: "alert", role: "alert" }, message) : null,
    h("label", { for: "admin-token" }, "Admin token"),
    h("input", { id: "admin-token", name: "admin-token", type: "password", autocomplete: "off", required: true }),
    h("p", { class: "hint" }, "The operator API's bearer token (ADMIN_TOKEN); kept in this tab only."),
    h("button", { type: "submit" }, "Sign in as operator"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = String(new FormData(form).get("admin-token") ?? "");
    try {
      await createClient({ baseUrl: location.origin, adminToken: token }).admin.getAdminDeadLetters();
      sessionStorage.setItem("te.admin", token);
      route();
    } catch (error) {
      adminSignIn(error instanceof TaskEngineError && error.status === 401 ? "The admin token is wrong." : `Could not sign in: ${(error as Error).message}`);
    }
  });
  show(form);
  document.getElementById("admin-token")?.focus();
}

async function adminHome(): Promise<void> {
  const mine = generation;
  const letters = await operator().admin.getAdminDeadLetters();
  if (mine !== generation) return;
  const openClient = h("form", { class: "filters", "aria-label": "Open a client" }, field("Client", h("input", { name: "client", required: true, size: "20" })), h("button", { type: "submit" }, "Open client"));
  openClient.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/admin/clients/${encodeURIComponent(String(new FormData(openClient).get("client") ?? ""))}`;
  });
  const openPool = h("form", { class: "filters", "aria-label": "Open a worker pool" }, field("Pool", h("input", { name: "pool", value: "media", required: true, size: "20" })), h("button", { type: "submit" }, "Open pool"));
  openPool.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/admin/pools/${encodeURIComponent(String(new FormData(openPool).get("pool") ?? ""))}`;
  });
  show(
    h("h1", {}, "Operator"),
    openClient,
    openPool,
    h("h2", {}, "Dead letters"),
    letters.dead_letters.length === 0
      ? h("p", {}, "No dead letters.")
      : table(["Client", "Queue", "Messages"], letters.dead_letters.map((row) => [row.client ?? "(unknown)", row.queue, String(row.count)])),
  );
}

async function adminClient(name: string): Promise<void> {
  const mine = generation;
  const api = operator();
  const notices = h("div", { "aria-live": "polite" });
  const client = (await api.admin.getAdminClientsByName(name)) as { client: string; keys: { key_id: string; label: string | null; created_at: string; revoked_at: string | null }[]; config: { callback_rules?: unknown[]; storage?: unknown; pools?: unknown; drm?: unknown } };
  if (mine !== generation) return;
  const act = (label: string, run: () => Promise<unknown>, after: (value: unknown) => Node | null = () => null) =>
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          try {
            const value = await run();
            const shown = after(value);
            await adminClient(name);
            if (shown) document.getElementById("admin-notices")?.replaceChildren(shown);
          } catch (error) {
            notices.replaceChildren(problem(error));
          }
        },
      },
      label,
    );
  notices.id = "admin-notices";
  const once = (what: string, secret: string) => h("div", { class: "panel", role: "status" }, h("p", {}, `${what} (shown once, copy it now):`), h("code", { class: "secret" }, secret));
  show(
    h("h1", {}, `Client ${client.client}`),
    notices,
    h("h2", {}, "API keys"),
    table(
      ["Key", "Label", "Created", "Revoked", ""],
      client.keys.map((key) => [key.key_id, key.label ?? "", key.created_at, key.revoked_at ?? "", key.revoked_at ? "" : act(`Revoke ${key.key_id}`, () => api.admin.deleteAdminClientsByNameKeysByKeyId(name, key.key_id))]),
    ),
    h("div", { class: "actions" }, act("New API key", () => api.admin.postAdminClientsByNameKeys(name, { label: "dashboard" }), (value) => once("New API key", (value as { api_key: string }).api_key)), act("Rotate signing secret", () => api.admin.postAdminClientsByNameSigningSecrets(name, {}), (value) => once("New signing secret", (value as { signing_secret: string }).signing_secret))),
    h("h2", {}, "Callback rules"),
    h("p", { class: "hint" }, "Header values are secrets and are shown masked; replace the rules through PUT /admin/clients/{name}/config."),
    h("pre", { tabindex: "0", "aria-label": "Callback rules" }, JSON.stringify(client.config.callback_rules ?? [], null, 2)),
    h("h2", {}, "Storage"),
    h("pre", { tabindex: "0", "aria-label": "Storage" }, JSON.stringify(client.config.storage ?? {}, null, 2)),
    h("h2", {}, "Worker pools and DRM"),
    h("pre", { tabindex: "0", "aria-label": "Pools and DRM" }, JSON.stringify({ pools: client.config.pools ?? {}, drm: client.config.drm ?? null }, null, 2)),
  );
}

async function adminPool(pool: string): Promise<void> {
  const mine = generation;
  const api = operator();
  const notices = h("div", { "aria-live": "polite" });
  const load = async (): Promise<boolean> => {
    try {
      const view = await api.admin.getAdminPoolsByPool(pool);
      if (mine !== generation) return false;
      show(
        h("h1", {}, `Worker pool ${view.pool}`),
        notices,
        h("h2", {}, "Workers (seen in the last 10 minutes)"),
        view.workers.length === 0 ? h("p", {}, "No worker has polled lately.") : table(["Worker", "Label", "Last seen", "Leases held", "Leases taken"], view.workers.map((worker) => [worker.worker_id, worker.label, worker.last_seen, String(worker.leases_held), String(worker.leases_taken)])),
        h("h2", {}, "Waiting tasks"),
        view.waiting.length === 0 ? h("p", {}, "No task is waiting.") : table(["Job", "Task", "Attempt", "Client", "Priority", "Offered"], view.waiting.map((task) => [task.job_id, task.task, String(task.attempt), task.client, String(task.priority), task.offered_at])),
        h("h2", {}, "Tokens"),
        table(
          ["Token", "Label", "Client", "Created", "Revoked", ""],
          view.tokens.map((token) => [
            token.token_id,
            token.label,
            token.client ?? "(any)",
            token.created_at,
            token.revoked_at ?? "",
            token.revoked_at
              ? ""
              : h(
                  "button",
                  {
                    type: "button",
                    class: "secondary",
                    onclick: async () => {
                      try {
                        await api.admin.deleteAdminPoolsByPoolTokensByTokenId(pool, token.token_id);
                        void load();
                      } catch (error) {
                        notices.replaceChildren(problem(error));
                      }
                    },
                  },
                  `Revoke ${token.token_id}`,
                ),
          ]),
        ),
      );
      return true;
    } catch (error) {
      if (mine === generation) show(h("h1", {}, `Worker pool ${pool}`), problem(error));
      return false;
    }
  };
  if (await load()) poll(mine, load);
}

/** A simple table of text (or a control) cells. */
function table(headings: string[], rows: (string | Node)[][]): HTMLElement {
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ...headings.map((heading) => h("th", { scope: "col" }, heading)))), h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map((cell) => h("td", {}, cell)))))));
}

// ─── routing ────────────────────────────────────────────────────────────────────────────────────────────────

function route(): void {
  generation++;
  if (timer) clearInterval(timer);
  timer = undefined;
  const credentials = session();
  document.getElementById("who")!.textContent = credentials ? credentials.client : adminToken() ? "operator" : "";
  document.getElementById("sign-out")!.hidden = !credentials && !adminToken();
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = (path ?? "").split("/").filter(Boolean);
  // The operator pages take the admin token, not a client's key.
  if (parts[0] === "admin") {
    main.focus();
    if (!adminToken()) return adminSignIn();
    const mine = generation;
    const failed = (error: unknown) => (mineOf(mine) ? show(problem(error)) : undefined);
    if (parts[1] === "clients" && parts[2]) return void adminClient(decodeURIComponent(parts[2])).catch(failed);
    if (parts[1] === "pools" && parts[2]) return void adminPool(decodeURIComponent(parts[2])).catch(failed);
    return void adminHome().catch(failed);
  }
  if (!credentials) return signIn();
  // A job id is 26 characters of Crockford base32; anything else cannot name a job (nor reach another path).
  if (parts[0] === "jobs" && parts[1]) void (/^[0-9A-Z]{26}$/.test(parts[1]) ? jobPage(parts[1]) : Promise.resolve(show(h("h1", {}, "Job"), h("div", { class: "alert", role: "alert" }, `Job ${decodeURIComponent(parts[1])} not found.`))));
  else if (parts[0] === "submit") void submitPage(parts[1] ? decodeURIComponent(parts[1]) : null).catch((error) => show(problem(error)));
  else jobsPage(new URLSearchParams(search));
  main.focus();
}

document.getElementById("sign-out")!.addEventListener("click", () => {
  sessionStorage.removeItem("te.client");
  sessionStorage.removeItem("te.key");
  sessionStorage.removeItem("te.admin");
  location.hash = "";
  route();
});
window.addEventListener("hashchange", route);
route();
