import type { DrillOptions, DrillResult } from "./drill.ts";

/** The drill's figures, one a line. */
export function figureLines(options: DrillOptions, result: DrillResult): string[] {
  const f = result.figures;
  const s = result.shapes;
  return [
    `knobs: CHAOS_JOBS=${options.jobs} CHAOS_KILLS=${options.kills} CHAOS_SEED=${options.seed} CHAOS_CLIENTS=${options.clients} CHAOS_RECEIVERS=${options.receivers} CHAOS_FAULTS=${options.faults || '""'} CHAOS_SPAN_S=${options.spanMs / 1000}`,
    `jobs submitted: ${f.jobsSubmitted} (${result.posted} POST /job, ${result.reruns} reruns; chain ${s.chain}, fanout ${s.fanout}, voddelete ${s.voddelete}, asset_delete ${s.asset_delete}, drmswitch ${s.drmswitch}; ${result.pausedAndResumed} paused and resumed)`,
    `jobs completed: ${f.jobsEnded} (ended: ${f.jobsEnded - f.jobsBroken} completed, ${f.jobsBroken} broken by a rerun; ${f.jobsFailed} others with failed: true)`,
    `jobs lost: ${f.jobsLost}`,
    `callbacks expected: ${f.callbacksExpected} (delivery-log entries, one per callback and endpoint)`,
    `callbacks expected by tasks: ${f.callbacksByTasks} over ${f.jobsCrossChecked} jobs (2 per attempt of each task + the job callback, × endpoints); logs that disagree: ${f.crossCheckMismatches}`,
    `callbacks delivered: ${f.callbacksDelivered} (accepted by the receivers at least once)`,
    `callbacks duplicated: ${f.callbacksDuplicated} (extra accepted arrivals of a webhook-id; with another body: ${f.duplicatesWithOtherBody})`,
    `callbacks out of order: ${f.callbacksOutOfOrder}`,
    `callbacks missing: ${f.callbacksMissing} (not delivered per the logs: ${f.callbacksNotDeliveredInLogs}; arrivals in no log: ${f.callbacksUnexpected})`,
    `kills: ${result.kills} (SIGKILL of wrangler and workerd, restart on the same state; ${f.attemptsTimedOut} task attempts cut short and run again; ${result.apiRetries} API requests repeated)`,
    `queue faults injected: ${result.faults.drop + result.faults.duplicate} (${result.faults.drop} drops, ${result.faults.duplicate} duplicates; ${options.faults ? "on until the end, drain included" : "switch built in, FAULTS unset"})`,
    `receiver flaps: ${result.flaps.down + result.flaps.erroring} (${result.flaps.down} down, ${result.flaps.erroring} answering 500/503)`,
    `storage effects wrong: ${result.storageProblems.length}`,
    `drain: ${(result.drainMs / 1000).toFixed(1)} s${result.drained ? "" : " (deadline reached)"}`,
    `duration: ${(result.durationMs / 1000).toFixed(1)} s`,
  ];
}
