import { callbackBody, noticeEvent } from "../domain/callback-body";
import { boundedBody } from "../domain/callback-size";
import { ruleFor } from "../domain/client-config";
import type { Notice } from "../domain/job-events";
import type { JobState } from "../domain/job-state";
import type { OutboxEntry } from "../domain/outbox";
import type { TaskDefinition, Workflow } from "../workflows/definition";
import type { JobSpec } from "./job-spec";

export interface MadeCallback {
  entry: OutboxEntry;
  body: string;
}

/** Completed tasks' outputs by task name, as workflows' `input` and `result` functions receive them. */
export function taskOutputs(state: JobState): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const name of state.order) {
    const task = state.tasks[name]!;
    if (task.status === "completed") outputs[name] = task.output;
  }
  return outputs;
}

/** The job's result fields (`message`, `files`, ...) once it completed; empty otherwise. */
export function jobResult(workflow: Workflow, spec: JobSpec, state: JobState): Record<string, unknown> {
  return state.outcome === "completed" ? workflow.result(spec.parameters, taskOutputs(state)) : {};
}

/** Whether any of the job's endpoints asked for `task.progress` callbacks (its rule lists the event). */
export function wantsProgress(endpoints: readonly string[], rules: JobSpec["callbackRules"]): boolean {
  return endpoints.some((endpoint) => ruleFor(endpoint, rules ?? [])?.events?.includes("task.progress") === true);
}

/**
 * One outbox entry per endpoint for a notice, with the body that endpoint receives: the default body, or
 * the client's body template for that endpoint, within the size limit (callback-size.ts). Endpoints whose
 * rule filters the event out get nothing.
 */
export function callbacksFor(
  notice: Notice,
  spec: JobSpec,
  state: JobState,
  workflow: Workflow,
  definitions: ReadonlyMap<string, TaskDefinition<unknown>>,
): MadeCallback[] {
  const identity = { jobId: spec.jobId, client: spec.client, workflow: spec.workflow, contentId: spec.contentId };
  const extras = notice.kind === "task" ? (definitions.get(notice.task)?.callbackFields?.(spec.parameters) ?? {}) : {};
  const result = notice.kind === "job" ? jobResult(workflow, spec, state) : {};
  const fields = callbackBody(identity, notice, spec.customData, result, extras);
  const event = noticeEvent(notice);
  const callbacks: MadeCallback[] = [];
  spec.endpoints.forEach((endpoint, index) => {
    const rule = ruleFor(endpoint, spec.callbackRules ?? []);
    if (rule?.events && !rule.events.includes(event as (typeof rule.events)[number])) return;
    // Progress is opt-in: only an endpoint whose rule lists it gets it.
    if (event === "task.progress" && !rule?.events) return;
    const body = boundedBody(fields, rule?.body_template);
    callbacks.push({
      entry: {
        id: `cb_${spec.jobId}_${notice.sequence}_${index}`,
        endpoint,
        sequence: notice.sequence,
        event,
        state: "pending",
        attempts: 0,
        dueAt: null,
        error: null,
        ...(body.truncated ? { truncated: true } : {}),
      },
      body: body.text,
    });
  });
  return callbacks;
}
