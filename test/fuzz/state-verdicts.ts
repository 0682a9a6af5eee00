import type { EngineDriver } from "./engine-driver.ts";
import { describeRequest, type FuzzRequest } from "./fuzz-request.ts";
import type { FuzzStats } from "./fuzz-stats.ts";
import type { HttpClient } from "./http-client.ts";
import { diffSnapshots, type Snapshot } from "./state-snapshot.ts";

/** What the fuzzer concludes from its state snapshots, and how it takes a new baseline. */

/** What taking a baseline needs of the engine driver. */
export type Baselines = Pick<EngineDriver, "snapshot" | "restore" | "unsettled">;

/** After accepted changes: the fuzzed client's conditions back, the engine quiet, a new baseline. */
export async function afresh(driver: Baselines, stats: FuzzStats): Promise<Snapshot> {
  if (!(await driver.restore())) {
    stats.chunks.unsettled++;
    stats.unsettledReasons.push(driver.unsettled[driver.unsettled.length - 1] ?? "");
  }
  return driver.snapshot();
}

/**
 * A chunk of refused requests after which the state differs. If the state also moves with no request at all,
 * the chunk is inconclusive. Otherwise its requests are sent again one by one, each between two snapshots,
 * to name the one that changes the state; failing that, the whole chunk is the evidence.
 */
export async function investigate(
  driver: Baselines,
  http: Pick<HttpClient, "send">,
  stats: FuzzStats,
  requests: FuzzRequest[],
  after: Snapshot,
  differences: string[],
  hide: (text: string) => string,
  quietMs = 1000,
): Promise<Snapshot> {
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  const later = await driver.snapshot();
  if (diffSnapshots(after, later).length > 0) {
    stats.chunks.inconclusive++;
    return afresh(driver, stats);
  }
  const order = [...requests.filter((request) => request.method !== "GET"), ...requests.filter((request) => request.method === "GET")];
  let before = later;
  for (const request of order) {
    const response = await http.send(request);
    const now = await driver.snapshot();
    const changed = diffSnapshots(before, now);
    if (changed.length > 0 && response.status >= 400) {
      stats.violation({ kind: "refused_changed_state", message: `answered ${response.status} but changed: ${changed.join(" | ")}` }, request, response, hide);
      return afresh(driver, stats);
    }
    before = now;
  }
  const chunk = requests.map((request) => describeRequest(request, hide, 200)).join("\n");
  stats.violation(
    { kind: "refused_changed_state", message: `a chunk of refused requests changed the state (no single request did again): ${differences.join(" | ")}\nthe chunk:\n${chunk}` },
    requests[0]!,
    undefined,
    hide,
  );
  return afresh(driver, stats);
}

/**
 * The state comparison is not blind: one accepted change, a waiting job's new priority, must show in each
 * part of the snapshot (the API's view, D1, the job's coordinator).
 */
export async function canary(driver: EngineDriver): Promise<boolean> {
  const main = driver.ctx.main;
  const id = await driver.submit(main, { content_id: "fuzz-canary" }, 5, { run_at: "2099-01-01T00:00:00Z" });
  driver.seeded.add(id);
  await driver.settle();
  const before = await driver.snapshot();
  await driver.call("PATCH", `/jobs/${id}`, driver.headersOf(main), { priority: 9 });
  // The D1 job index follows the job a moment later (coalesced): let it.
  await driver.settle();
  const differences = diffSnapshots(before, await driver.snapshot(), 100);
  return ["API ", "D1 jobs ", `coordinator of ${id} `].every((prefix) => differences.some((line) => line.startsWith(prefix)));
}

/** What one snapshot holds, in words (for the report). */
export function describeSnapshot(snapshot: Snapshot): string {
  const d1Rows = Object.values(snapshot.d1).reduce((sum, rows) => sum + rows.length, 0);
  const coordinators = new Set(Object.keys(snapshot.coordinators ?? {}).map((key) => key.split(" ")[0]));
  return `${Object.keys(snapshot.d1).length} D1 tables (${d1Rows} rows), the storage of ${coordinators.size} job coordinators, ${Object.keys(snapshot.api).length} API reads`;
}
