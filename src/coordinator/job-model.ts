import type { CostLedger } from "../domain/cost";
import type { JobMeta } from "../domain/job-management";
import type { JobState } from "../domain/job-state";
import type { DeliveryRecord, Outbox } from "../domain/outbox";
import type { TaskDefinition, Workflow } from "../workflows/definition";
import type { HeadDocument, LogLine } from "./job-document";
import type { JobSpec } from "./job-spec";

/**
 * One job as its coordinator holds it in memory: the stored parts (spec, state, meta, callbacks with their
 * delivery records, the unsealed log, the cost ledger) and the workflow they came from. job-writes.ts
 * changes it and says what to store; the coordinator only stores that and performs the effects.
 */
export interface JobModel {
  spec: JobSpec;
  workflow: Workflow;
  definitions: ReadonlyMap<string, TaskDefinition<unknown>>;
  state: JobState;
  meta: JobMeta;
  outbox: Outbox;
  /** Every callback's delivery record, by callback id. */
  deliveries: Map<string, DeliveryRecord>;
  /** Ids of delivery records kept in the head row (changed since their callback was made, not sealed). */
  headDeliveries: Set<string>;
  deliveryChunks: number;
  /** Log lines not yet sealed. */
  log: LogLine[];
  logChunks: number;
  ledger: CostLedger;
  updatedAt: number;
  /** Job-level changes so far (see HeadDocument.indexVersion). */
  indexVersion: number;
  /** The last of them the D1 job index row holds. */
  indexedVersion: number;
  costReported: boolean;
}

/** The D1 job index row is behind the job. */
export function indexPending(job: JobModel): boolean {
  return job.indexVersion > job.indexedVersion;
}

/** The head row of a model. */
export function headDocument(job: JobModel, tasks: HeadDocument["tasks"]): HeadDocument {
  const { tasks: _tasks, ...head } = job.state;
  return {
    head,
    meta: job.meta,
    ledger: job.ledger,
    updatedAt: job.updatedAt,
    tasks,
    log: job.log,
    logChunks: job.logChunks,
    deliveries: [...job.headDeliveries].map((id) => job.deliveries.get(id)!),
    deliveryChunks: job.deliveryChunks,
    indexVersion: job.indexVersion,
    costReported: job.costReported,
  };
}
