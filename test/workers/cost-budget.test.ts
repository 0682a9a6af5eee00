import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dollars, type CostLedger } from "../../src/domain/cost";
import { coordinatorOf, createClient, interceptFetch, submitSelftest, waitFor, type RecordedRequest } from "./helpers";

/**
 * The reference job's bill (efficiency.md, per-job budgets): a 5-task chain with one endpoint and its 11
 * callbacks, run through the real API, queues, coordinator and scheduler, costs no more than its budget in
 * each billable operation. A change that adds writes or requests fails here.
 */

const HOOK = "https://cms.budget.invalid/hook";
let received: RecordedRequest[];
let logged: string[];

beforeAll(() => {
  received = interceptFetch(() => new Response("ok"));
  logged = [];
  const log = console.log.bind(console);
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(" "));
    log(...args);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

/** The job's ledger once it has ended, its callbacks are settled and its index row written. */
async function settledLedger(jobId: string): Promise<CostLedger> {
  const snapshot = await waitFor(
    () => coordinatorOf(jobId).snapshot(),
    (found) => found !== null && found.state.outcome !== "running" && !found.indexPending && found.outbox.every((entry) => entry.state === "delivered"),
  );
  return snapshot!.ledger;
}

describe("the reference job's cost", () => {
  it("stays within every per-job budget, and is logged as the job's cost line", async () => {
    const headers = await createClient("budget-client");
    const jobId = await submitSelftest(headers, { content_id: "budget", tasks: 5, rest_endpoints: [HOOK] });
    const callbacks = await waitFor(
      async () => received.filter((request) => request.url === HOOK && request.body.includes(jobId)),
      (found) => found.length === 11,
    );
    expect(callbacks).toHaveLength(11);
    const ledger = await settledLedger(jobId);

    expect(ledger.d1RowsWritten).toBeGreaterThan(0);
    expect(ledger.d1RowsWritten).toBeLessThanOrEqual(12);
    expect(ledger.doRowsWritten).toBeLessThanOrEqual(45);
    expect(ledger.doRequests).toBeLessThanOrEqual(20);
    expect(ledger.queueMessages).toBeLessThanOrEqual(4);
    // The submit request itself is counted: its invocation, its rate-limiter request, its D1 reads.
    expect(ledger.workerInvocations).toBeGreaterThanOrEqual(1);
    expect(ledger.d1RowsRead).toBeGreaterThan(0);
    expect(dollars(ledger) * 1e6).toBeLessThanOrEqual(40);

    // The last `job cost` line of the job carries the ledger as it is now.
    const lines = await waitFor(
      async () => logged.filter((line) => line.includes('"job cost"') && line.includes(jobId)).map((line) => JSON.parse(line) as { cost: CostLedger }),
      (found) => found.length > 0 && JSON.stringify(found.at(-1)!.cost) === JSON.stringify(ledger),
    );
    expect(lines.at(-1)!.cost).toStrictEqual(ledger);
    console.info(`reference job cost: ${JSON.stringify(ledger)} = $${(dollars(ledger) * 1e6).toFixed(2)} per million jobs`);
  });
});
