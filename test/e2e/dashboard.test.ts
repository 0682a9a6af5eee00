import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createClient, type TaskEngineClient } from "../../client/index.ts";
import { CHROMIUM } from "../support/playback";
import { Engine, type Client } from "./harness";
import { Receiver } from "./receiver";

/**
 * The dashboard (/ui) in headless Chromium against the real engine: sign in, submit from the form generated
 * from a workflow's JSON Schema, a job followed to its end without a reload, its timeline with a retry, a
 * redelivery, pause and resume, the errors (a wrong key, another client's job); every response of /ui carries
 * its CSP and no request leaves for another host; axe-core finds no serious violation; screenshots at 1280×800
 * and 390×844 (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The committed screenshots are rewritten with UPDATE_SCREENSHOTS=1; an ordinary run writes them aside. */
const SHOTS = process.env.UPDATE_SCREENSHOTS === "1" ? join(ROOT, "docs", "screenshots") : mkdtempSync(join(tmpdir(), "dashboard-shots-"));
let engine: Engine;
let receiver: Receiver;
let browser: Browser;
let owner: Client;
let other: Client;
let api: TaskEngineClient;
const requested: string[] = [];
const uiResponses: { url: string; csp: string | null }[] = [];
const cspViolations: string[] = [];

beforeAll(async () => {
  [engine, receiver] = await Promise.all([Engine.start({ name: "dashboard" }), Receiver.start()]);
  [owner, other] = [await engine.createClient("ui-owner"), await engine.createClient("ui-other")];
  await engine.setSetting(owner, "retry_delay", "1");
  api = createClient({ baseUrl: engine.url, client: owner.name, apiKey: owner.headers["api-key"] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await engine?.destroy();
  await receiver?.stop();
});

async function open(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("request", (request) => requested.push(request.url()));
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/ui")) uiResponses.push({ url: response.url(), csp: response.headers()["content-security-policy"] ?? null });
  });
  await page.goto(`${engine.url}/ui`);
  return { context, page };
}

/** Signs in; with the right key, waits for the jobs list the dashboard opens on. */
async function signIn(page: Page, apiKey = owner.headers["api-key"]!, name = owner.name): Promise<void> {
  await page.getByLabel("Client name").fill(name);
  await page.getByLabel("API key").fill(apiKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (apiKey === owner.headers["api-key"]) await page.getByRole("heading", { name: "Jobs" }).waitFor();
}

describe("the dashboard", () => {
  test("a wrong key shows an error and no data; the right one shows the jobs list", async () => {
    const { context, page } = await open();
    await signIn(page, "tek_wrong");
    await expect.poll(() => page.getByRole("alert").innerText()).toContain("wrong");
    expect(await page.locator("table").count()).toBe(0);
    await signIn(page);
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    // The key is kept for the tab only: not in a cookie, not in the URL.
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(owner.headers["api-key"]!);
    await context.close();
  }, 60_000);

  test("submits a selftest job from the generated form, follows it to completed without a reload, shows the retry on the timeline, redelivers a callback", async () => {
    const { context, page } = await open();
    await signIn(page);
    await page.getByRole("link", { name: "Submit" }).click();
    await page.getByRole("heading", { name: "Submit a job" }).waitFor();
    await page.locator("#workflow").selectOption("selftest");
    await page.getByRole("button", { name: "Show its form" }).click();
    await page.getByRole("form", { name: "Parameters of selftest" }).waitFor();
    await page.locator("#p-content_id").fill("from-ui");
    await page.locator("#p-tasks").fill("3");
    await page.locator("#p-task_ms").fill("400");
    await page.locator("#p-fail_task").fill("task_2");
    await page.locator("#p-fail_times").fill("1");
    await page.locator("#p-rest_endpoints").fill(JSON.stringify([receiver.url("/ui-hook")]));
    // The schema's validation messages come back beside their fields.
    await page.locator("#p-tasks").fill("0");
    await page.getByRole("button", { name: "Submit selftest" }).click();
    await expect.poll(() => page.locator("#p-tasks-error").innerText()).not.toBe("");
    await page.locator("#p-tasks").fill("3");
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    await page.getByRole("button", { name: "Submit selftest" }).click();
    await page.getByRole("heading", { name: /^Job / }).waitFor();
    const id = page.url().split("#/jobs/")[1]!;
    expect(id).toMatch(/^[0-9A-Z]{26}$/);
    // Followed live: the state reaches completed with no page load (only the fragment changed).
    await expect.poll(() => page.locator("main .state").first().innerText(), { timeout: 30_000 }).toBe("completed");
    expect(navigations.every((url) => url.startsWith(`${engine.url}/ui`))).toBe(true);
    // The timeline: the three tasks in order, task_2 with a failed attempt, a wait, then its completion.
    const lanes = page.locator(".timeline .lane");
    expect(await lanes.locator("> span").allInnerTexts()).toEqual(["task_1", "task_2", "task_3"]);
    expect(await lanes.nth(1).locator(".span").evaluateAll((spans) => spans.map((span) => (span as unknown as { dataset: { kind: string } }).dataset.kind))).toEqual(["fail", "wait", "complete"]);
    expect(await lanes.nth(0).locator(".span").evaluateAll((spans) => spans.map((span) => (span as unknown as { dataset: { kind: string } }).dataset.kind))).toEqual(["complete"]);
    // The task graph: each task with the ones it waits for (a chain).
    const graph = page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: "After" }) }).locator("tbody tr");
    expect(await graph.evaluateAll((rows) => rows.map((row) => [(row as unknown as { cells: { textContent: string }[] }).cells[0]!.textContent, (row as unknown as { cells: { textContent: string }[] }).cells[1]!.textContent]))).toEqual([["task_1", "(start)"], ["task_2", "task_1"], ["task_3", "task_2"]]);
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: join(SHOTS, "job-1280x800.png"), fullPage: false });

    // Redeliver the first callback: a second attempt appears in its row.
    const firstRow = page.locator("tbody tr").filter({ has: page.getByRole("button", { name: "Redeliver callback 1" }) });
    expect(await firstRow.locator("ol.attempts li").count()).toBe(1);
    await page.getByRole("button", { name: "Redeliver callback 1" }).click();
    await expect.poll(() => page.locator("tbody tr").filter({ has: page.getByRole("button", { name: "Redeliver callback 1" }) }).locator("ol.attempts li").count(), { timeout: 20_000 }).toBe(2);
    await context.close();
  }, 90_000);

  test("pauses and resumes a running job with its buttons; another client's job is not found", async () => {
    const { id } = await api.job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "long", tasks: 3, task_ms: 3000 } });
    const { context, page } = await open();
    await signIn(page);
    await page.goto(`${engine.url}/ui#/jobs/${id}`);
    await expect.poll(() => page.locator("main .state").first().innerText(), { timeout: 15_000 }).toBe("started");
    await page.getByRole("button", { name: "Pause" }).click();
    await expect.poll(() => page.locator("main .state").first().innerText(), { timeout: 15_000 }).toBe("paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.locator("main .state").first().innerText(), { timeout: 15_000 }).toMatch(/^(queued|started)$/);
    // A job of another client: not found, and nothing of it shown.
    const foreign = await createClient({ baseUrl: engine.url, client: other.name, apiKey: other.headers["api-key"] }).job.postJob({ job: { workflow: "selftest" }, parameters: { content_id: "theirs", tasks: 1 } });
    await page.goto(`${engine.url}/ui#/jobs/${foreign.id}`);
    await expect.poll(() => page.getByRole("alert").innerText()).toBe(`Job ${foreign.id} not found.`);
    expect(await page.locator(".timeline").count()).toBe(0);
    await page.goto(`${engine.url}/ui#/jobs`);
    await page.locator("table").waitFor();
    await page.screenshot({ path: join(SHOTS, "jobs-1280x800.png") });
    await context.close();
  }, 90_000);

  test("reads on a 390-wide phone screen", async () => {
    const { context, page } = await open({ width: 390, height: 844 });
    await signIn(page);
    await page.locator("table").waitFor();
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, "jobs-390x844.png") });
    const [first] = await api.jobs.getJobs({ limit: 1, state: "completed" });
    await page.goto(`${engine.url}/ui#/jobs/${first!.id}`);
    await page.locator(".timeline").waitFor();
    await page.screenshot({ path: join(SHOTS, "job-390x844.png") });
    await context.close();
  }, 60_000);

  test("axe-core finds no serious or critical violation on the sign-in, jobs, job, submit and operator pages", async () => {
    const axe = readFileSync(join(dirname(createRequire(import.meta.url).resolve("axe-core/package.json")), "axe.min.js"), "utf8");
    // axe is injected as a script of its own: this context lets it past the page's CSP (the test's, not the page's).
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    const page = await context.newPage();
    const check = async (what: string) => {
      await page.addScriptTag({ content: axe });
      const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as { violations: { id: string; impact: string; nodes: unknown[] }[] };
      const serious = result.violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical").map((violation) => `${violation.id} (${violation.nodes.length})`);
      expect([what, serious]).toEqual([what, []]);
    };
    await page.goto(`${engine.url}/ui`);
    await page.getByLabel("Client name").waitFor();
    await check("sign in");
    await signIn(page);
    await page.locator("table").waitFor();
    await check("jobs");
    const [first] = await api.jobs.getJobs({ limit: 1, state: "completed" });
    await page.goto(`${engine.url}/ui#/jobs/${first!.id}`);
    await page.locator(".timeline").waitFor();
    await check("job");
    await page.goto(`${engine.url}/ui#/submit/selftest`);
    await page.getByRole("form", { name: "Parameters of selftest" }).waitFor();
    await check("submit");
    await page.evaluate(`sessionStorage.setItem("te.admin", ${JSON.stringify(engine.adminToken)})`);
    await page.goto(`${engine.url}/ui#/admin/clients/${owner.name}`);
    await page.getByRole("heading", { name: `Client ${owner.name}` }).waitFor();
    await check("operator: a client");
    await context.close();
  }, 60_000);

  test("operator pages behind the admin token: dead letters, a client's keys (new, revoke), its signing secret rotated, a pool's workers and tokens", async () => {
    const admin = createClient({ baseUrl: engine.url, adminToken: engine.adminToken });
    const pool = await admin.admin.postAdminPoolsByPoolTokens("ui-pool", { label: "ui-test" });
    // A worker that polled once: the pool shows it as seen.
    await createClient({ baseUrl: engine.url, workerToken: pool.token }).workers.postWorkersLease({ pool: "ui-pool", worker_id: "ui-worker-1", max: 1, wait_s: 0 });
    const { context, page } = await open();
    await page.goto(`${engine.url}/ui#/admin`);
    await page.getByLabel("Admin token").fill("adm_wrong");
    await page.getByRole("button", { name: "Sign in as operator" }).click();
    await expect.poll(() => page.getByRole("alert").innerText()).toContain("wrong");
    await page.getByLabel("Admin token").fill(engine.adminToken);
    await page.getByRole("button", { name: "Sign in as operator" }).click();
    await page.getByRole("heading", { name: "Dead letters" }).waitFor();
    await page.getByLabel("Client", { exact: true }).fill(owner.name);
    await page.getByRole("button", { name: "Open client" }).click();
    await page.getByRole("heading", { name: `Client ${owner.name}` }).waitFor();
    const keyRows = () => page.locator("table").first().locator("tbody tr");
    expect(await keyRows().count()).toBe(1);
    await page.getByRole("button", { name: "New API key" }).click();
    await expect.poll(() => page.locator("code.secret").innerText()).toMatch(/^tek_/);
    expect(await keyRows().count()).toBe(2);
    const newKey = (await keyRows().nth(1).locator("td").first().innerText()).trim();
    await page.getByRole("button", { name: `Revoke ${newKey}` }).click();
    await expect.poll(() => keyRows().nth(1).locator("td").nth(3).innerText()).toMatch(/^\d{4}-/);
    await page.getByRole("button", { name: "Rotate signing secret" }).click();
    await expect.poll(() => page.locator("code.secret").innerText()).toMatch(/^whsec_/);
    // The owner's own key still works (only the new one was revoked).
    expect((await api.jobs.getJobs({ limit: 1 })).length).toBe(1);

    await page.goto(`${engine.url}/ui#/admin/pools/ui-pool`);
    await page.getByRole("heading", { name: "Worker pool ui-pool" }).waitFor();
    await expect.poll(() => page.locator("table").first().innerText()).toContain("ui-worker-1");
    await page.getByRole("button", { name: `Revoke ${pool.token_id}` }).click();
    await expect.poll(async () => (await admin.admin.getAdminPoolsByPool("ui-pool")).tokens[0]!.revoked_at).not.toBeNull();
    await page.screenshot({ path: join(SHOTS, "operator-pool-1280x800.png") });
    await context.close();
  }, 60_000);

  test("every /ui response carries the CSP, and no request left for another host", () => {
    expect(uiResponses.length).toBeGreaterThan(5);
    for (const response of uiResponses) expect([response.url, response.csp]).toEqual([response.url, expect.stringContaining("default-src 'none'")]);
    expect(requested.filter((url) => !url.startsWith(engine.url))).toEqual([]);
    // And the page itself never tripped its policy (an inline style or script would).
    expect(cspViolations).toEqual([]);
  });
});
