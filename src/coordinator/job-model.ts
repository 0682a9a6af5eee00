import type { EngineConfig } from "../config";
import { EMPTY_LEDGER, type CostLedger } from "../domain/cost";
import { initialJobState } from "../domain/job-graph";
import type { JobMeta } from "../domain/job-management";
import type { JobState } from "../domain/job-state";
import { Outbox, type DeliveryRecord } from "../domain/outbox";
import type { TaskDefinition, Workflow } from "../workflows/definition";
import { findWorkflow } from "../workflows/registry";
import { stateFrom, type HeadDocument, type LogLine } from "./job-document";
import type { JobSpec } from "./job-spec";
import type { StoredJob } from "./job-store";
import { wantsProgress } from "./notices";
import { planTasks } from "./planning";

/** Callbacks of an endpoint's line that go out as one run (one queue message or one hand-back). */
const RUN_LENGTH = 50;

/** The deployment settings a model needs: task leases and the callback attempt timeout. */
export type ModelConfig = Pick<EngineConfig, "dispatchLeaseMs" | "leaseGraceMs" | "callbackTimeoutMs"> & Partial<Pick<EngineConfig, "workerLeaseMs" | "offerLeaseMs">>;

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
  /** Bodies kept in the head row, by callback id (each of a callback in `headDeliveries`). */
  headBodies: Map<string, string>;
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
    bodies: Object.fromEntries(job.headBodies),
    indexVersion: job.indexVersion,
    costReported: job.costReported,
  };
}

/** The model of a job being created: its tasks planned, nothing run, no callback made. */
export function newJobModel(spec: JobSpec, meta: JobMeta, config: ModelConfig, now: number): JobModel {
  const workflow = workflowOf(spec);
  const initial = initialJobState({
    jobId: spec.jobId,
    client: spec.client,
    workflow: spec.workflow,
    contentId: spec.contentId,
    tasks: planTasks(workflow, spec),
    createdAt: spec.createdAt,
    dispatchLeaseMs: config.dispatchLeaseMs,
    leaseGraceMs: config.leaseGraceMs,
    workerLeaseMs: config.workerLeaseMs,
    offerLeaseMs: config.offerLeaseMs,
    progressCallbacks: wantsProgress(spec.endpoints, spec.callbackRules),
  });
  // The API's submission lines take the first log numbers.
  const state = { ...initial, nextLogSeq: 1 + spec.submissionLog.length };
  return model(spec, workflow, state, meta, [], config, {
    ledger: EMPTY_LEDGER,
    updatedAt: now,
    indexVersion: 1,
    indexedVersion: 0,
    costReported: false,
    log: [],
    logChunks: 0,
    deliveryChunks: 0,
    headDeliveries: new Set(),
    headBodies: new Map(),
  });
}

/** The model of a stored job (job-store.ts). */
export function storedJobModel(stored: StoredJob, config: ModelConfig): JobModel {
  const { document } = stored;
  return model(stored.spec, workflowOf(stored.spec), stateFrom(document, stored.pages), document.meta, stored.deliveries, config, {
    ledger: document.ledger,
    updatedAt: document.updatedAt,
    indexVersion: document.indexVersion,
    indexedVersion: stored.indexedVersion,
    costReported: document.costReported,
    log: document.log,
    logChunks: document.logChunks,
    deliveryChunks: document.deliveryChunks,
    headDeliveries: new Set(document.deliveries.map((record) => record.entry.id)),
    // Heads written before bodies rode in them have none.
    headBodies: new Map(Object.entries(document.bodies ?? {})),
  });
}

function workflowOf(spec: JobSpec): Workflow {
  const workflow = findWorkflow(spec.workflow);
  if (!workflow) throw new Error(`workflow ${spec.workflow} is not known`);
  return workflow;
}

function model(
  spec: JobSpec,
  workflow: Workflow,
  state: JobState,
  meta: JobMeta,
  deliveries: DeliveryRecord[],
  config: ModelConfig,
  rest: Omit<JobModel, "spec" | "workflow" | "definitions" | "state" | "meta" | "outbox" | "deliveries">,
): JobModel {
  const definitions = new Map(workflow.tasks(spec.parameters).map((definition) => [definition.name, definition]));
  const policy = { scheduleMs: spec.callbackScheduleMs, inFlightLeaseMs: config.callbackTimeoutMs + config.leaseGraceMs, runLength: RUN_LENGTH };
  return {
    spec,
    workflow,
    definitions,
    state,
    meta,
    outbox: new Outbox(deliveries.map((record) => record.entry), policy),
    deliveries: new Map(deliveries.map((record) => [record.entry.id, record])),
    ...rest,
  };
}
