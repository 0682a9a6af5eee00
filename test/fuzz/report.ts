import { describeRequest } from "./fuzz-request.ts";
import type { FuzzResult } from "./fuzz-runner.ts";

/** The figures of a run, as lines for stdout. */
export function formatReport(result: FuzzResult, options: { violationsShown?: number } = {}): string[] {
  const { stats } = result;
  const shown = options.violationsShown ?? 5;
  const lines: string[] = [];
  const sorted = [...stats.durations].sort((a, b) => a - b);
  const percentile = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  lines.push(`seed ${result.seed} · ${stats.sent} requests in ${(result.durationMs / 1000).toFixed(1)} s (with set-up)${result.stoppedByTime ? " · STOPPED BY THE TIME LIMIT" : ""}`);
  lines.push(`fuzzer's own requests (snapshots, restores, replays): ${result.driverRequests} · request latency p50 ${percentile(50).toFixed(1)} ms, p99 ${percentile(99).toFixed(1)} ms`);
  lines.push("");
  lines.push("requests per operation (valid / mutated) and their statuses:");
  const operations = [...new Set([...result.operations, ...stats.perOperation.keys()])];
  for (const operation of operations) {
    const counts = stats.perOperation.get(operation);
    if (!counts) {
      lines.push(`  ${operation.padEnd(52)} NOT SENT`);
      continue;
    }
    const statuses = [...(stats.statusesPerOperation.get(operation) ?? new Map<number, number>()).entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
    lines.push(`  ${operation.padEnd(52)} ${String(counts.valid).padStart(5)} / ${String(counts.mutated).padStart(5)}   ${statuses.join(" ")}`);
  }
  lines.push("");
  lines.push(`statuses: ${[...stats.statuses.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(" ")}`);
  const c = stats.chunks;
  lines.push(`chunks: ${c.refusalChecked} of refused requests compared equal before/after, ${c.valid} valid, ${c.spoiledByAcceptedMutation} not compared (a mutated request was accepted), ${c.inconclusive} inconclusive (state moved by itself), ${c.unsettled} restores that did not quieten`);
  for (const reason of [...new Set(stats.unsettledReasons)].slice(0, 5)) lines.push(`  still moving after a restore: ${reason}`);
  const variants = [...stats.mediaTypeVariants.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
  lines.push(`a state snapshot holds: ${result.compared}`);
  lines.push(`valid requests with an unusual JSON media type (application/json ; charset=utf-8, …): ${variants.join(" ") || "none"}`);
  lines.push(`valid requests answered 429: ${stats.validThrottled}`);
  for (const example of stats.validThrottledExamples) lines.push(`${describeRequest(example.request, result.hide, 200).replace(/^/gm, "    ")}\n      → 429 ${example.body}`);
  lines.push(`fuzzed jobs run to their end (queued ones let through every ${8} valid chunks and at the end): ${stats.drainedJobs}`);
  lines.push(`mutated requests accepted: ${[...stats.acceptedDespiteDocument.values()].reduce((a, b) => a + b, 0)} although the document forbids them, ${stats.acceptedOdd} with odd values the document allows`);
  lines.push("");
  const counts = stats.countByKind();
  const distinct = [...new Set(result.workerErrors.map((message) => message.replace(/[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f-]{36}/g, "…").slice(0, 200)))];
  lines.push(`searched for secrets besides the responses: ${result.workerLogLines} worker log lines, ${result.callbacksReceived} requests to the sink (callbacks, semaphore polls)`);
  lines.push(`worker log lines at level error: ${result.workerErrors.length}${distinct.length > 0 ? `, ${distinct.length} distinct:` : ""}`);
  for (const message of distinct.slice(0, 8)) lines.push(`  ${message}`);
  lines.push(`self-check: an accepted change shows in the API's view, D1 and the coordinator: ${result.snapshotSeesChanges ? "yes" : "NO (the state comparison is blind)"}`);
  lines.push("violations (must all be 0):");
  for (const kind of ["server_error", "no_response", "error_shape", "wrong_code", "no_request_id", "no_retry_after", "secret_leak", "secret_in_log", "secret_in_callback", "foreign_id_answered", "json_media_type_refused", "refused_changed_state"] as const) {
    lines.push(`  ${kind.padEnd(26)} ${counts.get(kind) ?? 0}`);
  }
  if (stats.acceptedDespiteDocument.size > 0) {
    lines.push("");
    lines.push("accepted although the document forbids it (the API is more lenient than its document):");
    for (const [what, n] of [...stats.acceptedDespiteDocument.entries()].sort(([, a], [, b]) => b - a).slice(0, 25)) {
      lines.push(`  ${n}× ${what}`);
      const example = stats.acceptedExamples.get(what);
      if (example) lines.push(describeRequest(example, result.hide, 300).replace(/^/gm, "      "));
    }
  }
  lines.push("");
  lines.push(`2xx JSON bodies of valid requests checked against the document's response schemas: ${stats.responsesChecked}, misfits: ${[...stats.responseMisfits.values()].reduce((sum, entry) => sum + entry.count, 0)}`);
  for (const [what, entry] of [...stats.responseMisfits.entries()].sort(([, a], [, b]) => b.count - a.count).slice(0, 15)) {
    lines.push(`  ${entry.count}× ${what}`);
    lines.push(`      e.g. ${result.hide(entry.example)}`);
  }
  if (stats.undocumentedStatuses.size > 0) {
    lines.push("");
    lines.push("statuses the document does not list for the operation:");
    for (const [what, n] of [...stats.undocumentedStatuses.entries()].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${n}× ${what}`);
  }
  if (result.problems.length > 0) {
    lines.push("");
    lines.push("problems of the document:");
    for (const problem of result.problems) lines.push(`  ${problem}`);
  }
  if (stats.violations.length > 0) {
    lines.push("");
    lines.push(`VIOLATIONS (the first ${shown} of each kind):`);
    for (const kind of counts.keys()) {
      for (const violation of stats.violations.filter((item) => item.kind === kind).slice(0, shown)) {
        lines.push(`- ${violation.kind}: ${violation.message}`);
        lines.push(violation.request.replace(/^/gm, "    "));
        if (violation.response) lines.push(`    → ${violation.response}`);
      }
    }
  }
  return lines;
}
