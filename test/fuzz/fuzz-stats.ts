import { describeRequest, type FuzzRequest, type FuzzResponse } from "./fuzz-request.ts";
import type { Violation, ViolationKind } from "./response-checks.ts";

/** The figures of a run and the evidence of every violation. */

export interface ViolationRecord extends Violation {
  /** The request, printable and replayable (secrets hidden). */
  request: string;
  /** Status and the start of the body. */
  response: string;
}

export class FuzzStats {
  sent = 0;
  readonly perOperation = new Map<string, { valid: number; mutated: number }>();
  readonly statuses = new Map<number, number>();
  readonly statusesPerOperation = new Map<string, Map<number, number>>();
  readonly violations: ViolationRecord[] = [];
  /** Mutated requests answered 2xx although their mutation breaks the document: where the API is more lenient. */
  readonly acceptedDespiteDocument = new Map<string, number>();
  /** One such request per entry of `acceptedDespiteDocument`, to replay. */
  readonly acceptedExamples = new Map<string, FuzzRequest>();
  /** Statuses of valid requests sent with an unusual but valid JSON media type. */
  readonly mediaTypeVariants = new Map<number, number>();
  /** 2xx bodies that do not fit the response schema the document declares, by operation and misfit. */
  readonly responseMisfits = new Map<string, { count: number; example: string }>();
  /** 2xx JSON bodies checked against the document. */
  responsesChecked = 0;
  /** Fuzzed jobs that ran to their end in drains. */
  drainedJobs = 0;
  /** Valid requests (right credentials, fresh source address) answered 429. */
  validThrottled = 0;
  readonly validThrottledExamples: { request: FuzzRequest; body: string }[] = [];
  /** Mutated requests with odd-but-maybe-valid values that were accepted. */
  acceptedOdd = 0;
  /** Statuses an operation answered that its document does not list. */
  readonly undocumentedStatuses = new Map<string, number>();
  readonly chunks = { valid: 0, refusalChecked: 0, spoiledByAcceptedMutation: 0, inconclusive: 0, unsettled: 0 };
  /** Why a wait for quiet timed out (what was still moving). */
  readonly unsettledReasons: string[] = [];
  readonly durations: number[] = [];

  record(request: FuzzRequest, response: FuzzResponse, documented: number[] | undefined): void {
    this.sent++;
    const counts = this.perOperation.get(request.operation) ?? { valid: 0, mutated: 0 };
    counts[request.intent]++;
    this.perOperation.set(request.operation, counts);
    this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
    const perOp = this.statusesPerOperation.get(request.operation) ?? new Map<number, number>();
    perOp.set(response.status, (perOp.get(response.status) ?? 0) + 1);
    this.statusesPerOperation.set(request.operation, perOp);
    this.durations.push(response.durationMs);
    if (documented && response.status > 0 && !documented.includes(response.status)) {
      const key = `${request.operation} → ${response.status}`;
      this.undocumentedStatuses.set(key, (this.undocumentedStatuses.get(key) ?? 0) + 1);
    }
    if (request.jsonMediaTypeVariant) this.mediaTypeVariants.set(response.status, (this.mediaTypeVariants.get(response.status) ?? 0) + 1);
    if (request.intent === "valid" && response.status === 429) {
      this.validThrottled++;
      if (this.validThrottledExamples.length < 3) this.validThrottledExamples.push({ request, body: response.body.toString("utf8").slice(0, 200) });
    }
    if (request.intent === "mutated" && response.status >= 200 && response.status < 300) {
      if (request.expect === "refused") {
        const key = `${request.operation}: ${request.mutation}`;
        this.acceptedDespiteDocument.set(key, (this.acceptedDespiteDocument.get(key) ?? 0) + 1);
        if (!this.acceptedExamples.has(key)) this.acceptedExamples.set(key, request);
      } else this.acceptedOdd++;
    }
  }

  violation(violation: Violation, request: FuzzRequest, response: FuzzResponse | undefined, hide: (text: string) => string): void {
    this.violations.push({
      ...violation,
      request: describeRequest(request, hide),
      response: response ? `${response.status} ${hide(response.body.toString("utf8").slice(0, 400))}` : "(replayed chunk)",
    });
  }

  /** A violation that no single request shows (a log line, a callback body). */
  finding(violation: Violation, evidence: string): void {
    this.violations.push({ ...violation, request: evidence, response: "" });
  }

  responseMisfit(request: FuzzRequest, status: number, misfit: string, body: string): void {
    // Grouped without indexes and values: "GET /jobs 200: [].tasks: expected array".
    const key = `${request.operation} → ${status}: ${misfit.replace(/\[\d+\]/g, "[]").replace(/, got .*$/, "")}`;
    const entry = this.responseMisfits.get(key) ?? { count: 0, example: `${misfit} in ${body.slice(0, 300)}` };
    entry.count++;
    this.responseMisfits.set(key, entry);
  }

  countByKind(): Map<ViolationKind, number> {
    const counts = new Map<ViolationKind, number>();
    for (const violation of this.violations) counts.set(violation.kind, (counts.get(violation.kind) ?? 0) + 1);
    return counts;
  }
}
