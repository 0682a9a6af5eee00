import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { expectCallbackHeaders, ISO_UTC, isJobCallback, jobCallbackArrived, ofJob, range, type Callback } from "./callbacks";
import { arrivals, chainEvents, deadUrl, NETWORK_ERROR, ofEndpoint, retrySchedule, settled } from "./delivery";
import { Engine, sleep, type CallbackLogEntry, type Client, type JobObject } from "./harness";
import { Receiver, type ReceivedRequest } from "./receiver";

/**
 * Callback signatures (Standard Webhooks, verified with the `standardwebhooks` package a receiver would use)
 * across a secret rotation, and per-client callback rules (callbacks.md, Customisation per client): extra
 * headers, events filter and body template per endpoint URL prefix; the header values are secrets that no
 * API response and no worker log line shows.
 */

/** How long a worker isolate reuses a client's configuration (src/queues/callback-headers.ts): a rotation applies within it. */
const CONFIG_CACHE_MS = 5_000;

let engine: Engine;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await Receiver.start();
  engine = await Engine.start({ name: "callback-rules" });
});

afterAll(async () => {
  await engine?.destroy();
  await receiver?.stop();
});

/** The Standard Webhooks headers of a request, as `Webhook.verify` takes them. */
function webhookHeaders(request: ReceivedRequest): Record<string, string> {
  return {
    "webhook-id": String(request.headers["webhook-id"]),
    "webhook-timestamp": String(request.headers["webhook-timestamp"]),
    "webhook-signature": String(request.headers["webhook-signature"]),
  };
}

/** True when `secret` verifies the request (raw body as received), as a receiver checks it. */
function verifies(secret: string, request: ReceivedRequest, raw = request.raw): boolean {
  try {
    const payload = new Webhook(secret).verify(raw, webhookHeaders(request));
    expect(payload).toStrictEqual(request.body);
    return true;
  } catch (error) {
    if ((error as Error).name !== "WebhookVerificationError") throw error;
    return false;
  }
}

function signatureCount(request: ReceivedRequest): number {
  return String(request.headers["webhook-signature"]).split(" ").filter((part) => /^v1,[A-Za-z0-9+/]+={0,2}$/.test(part)).length;
}

/** Runs a one-task selftest job to `path` and returns its three requests once the job callback arrived. */
async function runSigned(client: Client, path: string): Promise<ReceivedRequest[]> {
  const accepted = await engine.submit(client, "selftest", { content_id: path.slice(1), tasks: 1, rest_endpoints: [receiver.url(path)] });
  await receiver.waitFor(jobCallbackArrived(accepted.id, path), 15_000, "the job callback");
  const requests = ofJob(receiver.at(path), accepted.id);
  expect(arrivals(requests)).toStrictEqual([1, 2, 3]);
  return requests;
}

async function rotate(client: Client, overlapSeconds: number): Promise<string> {
  const response = await engine.admin<{ signing_secret: string }>("POST", `/admin/clients/${client.name}/signing-secrets`, { overlap_seconds: overlapSeconds });
  expect(response.status).toBe(201);
  expect(response.body.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/);
  return response.body.signing_secret;
}

describe("signatures across a secret rotation", () => {
  let client: Client;
  const secrets: string[] = [];
  const phases: ReceivedRequest[][] = [];
  const stranger = `whsec_${randomBytes(32).toString("base64")}`;

  beforeAll(async () => {
    client = await engine.createClient("e2e-signing");
    secrets.push(client.signingSecret);
    phases.push(await runSigned(client, "/signed-before"));
    // Rotation with a one-hour overlap: old and new secret both sign.
    secrets.push(await rotate(client, 3600));
    await sleep(CONFIG_CACHE_MS + 300);
    phases.push(await runSigned(client, "/signed-overlap"));
    // Rotation with no overlap: only the newest secret signs from now on.
    secrets.push(await rotate(client, 0));
    await sleep(CONFIG_CACHE_MS + 300);
    phases.push(await runSigned(client, "/signed-after"));
  });

  test("before the rotation: one signature, verified with the client's whsec_ secret only; a changed body fails", () => {
    expect(secrets[0]).toMatch(/^whsec_/);
    for (const request of phases[0]!) {
      expect(signatureCount(request)).toBe(1);
      expect(verifies(secrets[0]!, request)).toBe(true);
      expect(verifies(stranger, request)).toBe(false);
      expect(verifies(secrets[0]!, request, request.raw.replace('"sequence":', '"sequence": '))).toBe(false);
    }
  });

  test("during the overlap: two signatures; the old secret and the new secret each verify on their own", () => {
    expect(new Set(secrets).size).toBe(3);
    for (const request of phases[1]!) {
      expect(signatureCount(request)).toBe(2);
      expect(verifies(secrets[0]!, request)).toBe(true);
      expect(verifies(secrets[1]!, request)).toBe(true);
      expect(verifies(stranger, request)).toBe(false);
    }
  });

  test("after a rotation without overlap: one signature, by the newest secret; the old ones no longer verify", () => {
    for (const request of phases[2]!) {
      expect(signatureCount(request)).toBe(1);
      expect(verifies(secrets[2]!, request)).toBe(true);
      expect(verifies(secrets[1]!, request)).toBe(false);
      expect(verifies(secrets[0]!, request)).toBe(false);
    }
  });

  test("the admin API never shows a signing secret again", async () => {
    const shown = await engine.admin("GET", `/admin/clients/${client.name}`);
    expect(shown.status).toBe(200);
    const text = JSON.stringify(shown.body);
    for (const secret of secrets) expect(text).not.toContain(secret.slice("whsec_".length));
    expect((shown.body as { config: { signing_secrets: unknown[] } }).config.signing_secrets).toHaveLength(3);
  });
});

describe("callback rules per endpoint URL prefix", () => {
  let client: Client;
  let jobId: string;
  let job: JobObject;
  let log: CallbackLogEntry[];
  let startedAt: number;
  let putResponse: unknown;
  const secret = (label: string) => `${label}-${randomBytes(16).toString("hex")}`;
  const crmAuth = `Bearer ${secret("crm-token")}`;
  const crmKey = secret("crm-key");
  const specialKey = secret("special-key");
  const deadAuth = secret("dead-auth");
  const ruleSecrets = [crmAuth, crmKey, specialKey, deadAuth];
  const customData = { ref: "r-1", nested: { n: 5, flags: [true, false] } };
  let crm: string;
  let special: string;
  let plain: string;
  let dead: string;

  const template = {
    event_type: "taskengine.{{status}}",
    id: "{{job_id}}",
    ref: "{{custom_data.ref}}",
    count: "{{custom_data.nested.n}}",
    flags: "{{ custom_data.nested.flags }}",
    data: "{{custom_data}}",
    seq: "{{sequence}}",
    text: "job {{job_id}} {{status}} n={{custom_data.nested.n}}",
    missing: "{{no.such.field}}",
    fixed: { n: 42, list: ["{{content_id}}", true, null] },
  };

  beforeAll(async () => {
    client = await engine.createClient("e2e-rules");
    await engine.setSetting(client, "callback_retry_schedule", retrySchedule(1, 2));
    crm = receiver.url("/crm/end");
    special = receiver.url("/crm/special/x");
    plain = receiver.url("/plain");
    dead = await deadUrl("/dead-rule");
    const put = await engine.admin("PUT", `/admin/clients/${client.name}/config`, {
      callback_rules: [
        { prefix: receiver.url("/crm"), headers: { Authorization: crmAuth, "X-Api-Token": crmKey }, events: ["job.end"], body_template: template },
        // The longer prefix wins for /crm/special/…: its own header, no template, task completions and the job end.
        { prefix: receiver.url("/crm/special"), headers: { "X-Special-Token": specialKey }, events: ["task.complete", "job.end"] },
        { prefix: dead.replace("/dead-rule", "/"), headers: { Authorization: deadAuth }, events: ["job.end"] },
      ],
    });
    expect(put.status).toBe(200);
    putResponse = put.body;
    // The CRM answers 500 once: the retry carries the headers again (and a failure path runs with them).
    receiver.script("/crm/end", [500]);
    startedAt = Date.now();
    const accepted = await engine.submit(client, "selftest", {
      content_id: "rules-1",
      tasks: 2,
      rest_endpoints: [crm, special, plain, dead],
      custom_data: customData,
    });
    jobId = accepted.id;
    await receiver.waitFor(jobCallbackArrived(jobId, "/plain"), 15_000, "the job callback at /plain");
    // The templated body has no job_id: /crm/end is this job's alone.
    await receiver.waitFor(() => receiver.at("/crm/end").length >= 2, 15_000, "the CRM's retry");
    // The dead endpoint's one callback fails for good after 3 attempts (schedule 1 s, 1 s).
    log = await engine.waitForCallbacks(client, jobId, (entries) => entries.length === 10 && settled(entries), 15_000);
    job = await engine.getJob(client, jobId);
    await sleep(300);
  });

  test("the events filter: each endpoint gets the events its rule lets through (all without a rule)", () => {
    expect(job).toMatchObject({ queue_state: "completed", failed: false });
    expect(receiver.at("/crm/end").map((request) => (request.body as { seq: number }).seq)).toStrictEqual([5, 5]);
    expect(arrivals(ofJob(receiver.at("/crm/special/x"), jobId))).toStrictEqual([2, 4, 5]);
    expect(arrivals(ofJob(receiver.at("/plain"), jobId))).toStrictEqual(range(1, 5));
    const events = (endpoint: string) => ofEndpoint(log, endpoint).map((entry) => [entry.sequence, entry.event, entry.state]);
    expect(events(crm)).toStrictEqual([[5, "job.end", "delivered"]]);
    expect(events(special)).toStrictEqual([
      [2, "task.complete", "delivered"],
      [4, "task.complete", "delivered"],
      [5, "job.end", "delivered"],
    ]);
    expect(events(plain)).toStrictEqual(chainEvents(2).map((event, i) => [i + 1, event, "delivered"]));
    expect(events(dead)).toStrictEqual([[5, "job.end", "failed"]]);
    expect(ofEndpoint(log, crm)[0]!.attempts.map((attempt) => attempt.status)).toStrictEqual([500, 200]);
    const deadEntry = ofEndpoint(log, dead)[0]!;
    expect(deadEntry.attempts).toHaveLength(3);
    for (const attempt of deadEntry.attempts) expect(attempt).toMatchObject(NETWORK_ERROR);
    expect(deadEntry.error).toMatch(/^network error: /);
  });

  test("the body template: placeholders filled, dotted paths into custom_data, a whole-string placeholder keeps the JSON type", () => {
    const requests = receiver.at("/crm/end");
    const expected = {
      event_type: "taskengine.completed",
      id: jobId,
      ref: "r-1",
      count: 5,
      flags: [true, false],
      data: customData,
      seq: 5,
      text: `job ${jobId} completed n=5`,
      missing: null,
      fixed: { n: 42, list: ["rules-1", true, null] },
    };
    for (const request of requests) expect(request.body).toStrictEqual(expected);
    expect(requests[1]!.raw).toBe(requests[0]!.raw);
  });

  test("endpoints without a template get the default bodies", () => {
    const plainBodies = ofJob(receiver.at("/plain"), jobId).map((request) => request.body as Callback);
    expect(plainBodies[4]).toStrictEqual({
      job_id: jobId,
      status: "completed",
      workflow: "selftest",
      content_id: "rules-1",
      custom_data: customData,
      time: expect.stringMatching(ISO_UTC),
      client: "e2e-rules",
      sequence: 5,
      message: "2 tasks completed (chain)",
    });
    const specialBodies = ofJob(receiver.at("/crm/special/x"), jobId).map((request) => request.body as Callback);
    // The same callbacks as /plain's of those sequences, byte for byte in content.
    expect(specialBodies).toStrictEqual([plainBodies[1], plainBodies[3], plainBodies[4]]);
    expect(specialBodies.map((body) => (isJobCallback(body) ? "job" : body.event))).toStrictEqual(["complete", "complete", "job"]);
  });

  test("extra headers arrive at the matching endpoint only (longest prefix wins), on every attempt, beside the engine's own", () => {
    const now = Date.now();
    for (const request of receiver.at("/crm/end")) {
      expect(request.headers.authorization).toBe(crmAuth);
      expect(request.headers["x-api-token"]).toBe(crmKey);
      expect(request.headers["x-special-token"]).toBeUndefined();
    }
    for (const request of ofJob(receiver.at("/crm/special/x"), jobId)) {
      expect(request.headers["x-special-token"]).toBe(specialKey);
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers["x-api-token"]).toBeUndefined();
    }
    for (const request of ofJob(receiver.at("/plain"), jobId)) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers["x-api-token"]).toBeUndefined();
      expect(request.headers["x-special-token"]).toBeUndefined();
    }
    const all = [...receiver.at("/crm/end"), ...ofJob(receiver.at("/crm/special/x"), jobId), ...ofJob(receiver.at("/plain"), jobId)];
    expect(all).toHaveLength(10);
    for (const request of all) {
      expectCallbackHeaders(request, startedAt, now);
      // Templated bodies are signed as sent.
      expect(new Webhook(client.signingSecret).verify(request.raw, webhookHeaders(request))).toStrictEqual(request.body);
    }
  });

  test("the rule header values appear in no API response", async () => {
    const responses = await Promise.all([
      engine.request("GET", `/jobs/${jobId}`, { headers: client.headers }),
      engine.request("GET", `/jobs/${jobId}/callbacks`, { headers: client.headers }),
      engine.request("GET", `/logs/${jobId}`, { headers: client.headers }),
      engine.request("GET", "/jobs", { headers: client.headers }),
      engine.admin("GET", `/admin/clients/${client.name}`),
    ]);
    for (const response of responses) expect(response.status).toBe(200);
    const texts = [...responses.map((response) => JSON.stringify(response.body)), JSON.stringify(putResponse)];
    // The responses are about this job (a check that finds nothing in empty bodies proves nothing).
    expect(texts[0]).toContain(jobId);
    expect(texts[1]).toContain(dead);
    for (const text of texts) {
      for (const value of ruleSecrets) expect(text).not.toContain(value.replace("Bearer ", ""));
    }
    // The operator sees which headers a rule sets, not their values.
    const rules = (responses[4]!.body as { config: { callback_rules: { prefix: string; headers?: Record<string, string>; body_template?: unknown }[] } }).config.callback_rules;
    expect(rules.map((rule) => rule.headers)).toStrictEqual([
      { Authorization: "********", "X-Api-Token": "********" },
      { "X-Special-Token": "********" },
      { Authorization: "********" },
    ]);
    expect(rules[0]!.body_template).toStrictEqual(template);
  });

  test("the rule header values appear in no line the worker logged", () => {
    // engine.workerLogs holds every console line of the worker since it started. The failed attempts to
    // the dead endpoint (whose rule sets a secret header) are logged: the capture works, and those lines
    // name the endpoint without the header.
    const all = engine.workerLogs.map((line) => line.message).join("\n");
    const failures = engine.workerLogs.filter((line) => line.message.includes("callback attempt failed") && line.message.includes("/dead-rule"));
    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const value of ruleSecrets) expect(all).not.toContain(value.replace("Bearer ", ""));
  });
});
