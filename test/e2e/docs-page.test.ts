import { chromium } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CHROMIUM } from "../support/playback";
import { Engine } from "./harness";

/**
 * /docs, the API reference: Swagger UI from the npm package swagger-ui-dist, served by the engine itself with
 * a Content-Security-Policy; rendered in headless Chromium, every request the page makes stays on the engine.
 */

let engine: Engine;

beforeAll(async () => {
  engine = await Engine.start({ name: "docs" });
});

afterAll(async () => {
  await engine?.destroy();
});

test("is served by the engine with its CSP, and renders in a browser without a request to another host", async () => {
  const page = await fetch(`${engine.url}/docs`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
  const html = await page.text();
  // (The page's icon is an empty data: URL, so that the browser asks for no /favicon.ico.)
  const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!).filter((reference) => !reference.startsWith("data:"));
  expect(references.length).toBeGreaterThan(2);
  for (const reference of references) {
    expect(reference.startsWith("/")).toBe(true);
    const asset = await fetch(`${engine.url}${reference}`);
    expect([reference, asset.status, asset.headers.get("content-security-policy") !== null]).toEqual([reference, 200, true]);
  }
  expect((await fetch(`${engine.url}/docs/nothing-here.js`)).status).toBe(404);
  // Browsers ask every origin for /favicon.ico: a 404, not a 401 (a failed sign-in would count toward a block).
  expect((await fetch(`${engine.url}/favicon.ico`)).status).toBe(404);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const tab = await browser.newPage();
    const requested: string[] = [];
    const violations: string[] = [];
    tab.on("request", (request) => requested.push(request.url()));
    tab.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await tab.goto(`${engine.url}/docs`);
    // The operations of /openapi.json, rendered (one block per operation).
    await tab.waitForSelector(".opblock", { timeout: 30_000 });
    expect(await tab.locator(".opblock").count()).toBeGreaterThan(30);
    expect(await tab.locator(".info .title").first().innerText({ timeout: 5_000 })).toContain("Task Engine API");
    expect(requested.filter((url) => !url.startsWith(engine.url) && !url.startsWith("data:"))).toEqual([]);
    expect(violations).toEqual([]);
  } finally {
    await browser.close();
  }
}, 90_000);
