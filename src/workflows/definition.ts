import type { z } from "zod";

/** A folder of the client's storage, as a remote task's lease reads it. */
export interface FileRoot {
  storage: string;
  root_key: string;
  folder: string;
}

/** One task of a workflow (workflows.md, Definitions). */
export interface TaskDefinition<P> {
  /** The `task_name` in callbacks; unique in the workflow. */
  name: string;
  /** Name of the executor that runs it (see src/executors/registry.ts). */
  executor: string;
  /**
   * Where it runs: `edge` (the tasks queue consumer, the default) or the name of a worker pool whose remote
   * workers lease it (workers.md); a client's configuration may map the pool to one of its own.
   */
  runsOn?: string;
  /**
   * Folders of the client's storage a remote task may read through its lease's file API, by root name
   * (`source`): read-only, and nothing outside the folder.
   */
  fileRoots?: (params: P) => Record<string, FileRoot>;
  /** Tasks that must complete (or be skipped) first. */
  needs?: string[];
  /** False → the task is `skipped`. */
  when?: (params: P) => boolean;
  /** Overrides of the client's retry settings. */
  retry?: { limit?: number; delayMs?: number; backoff?: number };
  /** How long one attempt may run. */
  timeoutMs?: number | ((params: P) => number);
  /** The executor's input, from the parameters and the outputs of earlier tasks (by task name). */
  input?: (params: P, outputs: Record<string, unknown>) => unknown;
  /** Extra fields of this task's callbacks (e.g. `files` for asset_delete). */
  callbackFields?: (params: P) => Record<string, unknown>;
}

export interface WorkflowSpec<S extends z.ZodType> {
  name: string;
  description: string;
  /** Validates the job's `parameters` and fills their defaults. */
  parameters: S;
  /** A documented example of `parameters` (reference §3); the catalogue shows the task graph it gives. */
  example: z.input<S>;
  /** The task graph for these parameters. */
  tasks: (params: z.output<S>) => TaskDefinition<z.output<S>>[];
  /** The workflow's own job-callback fields (`message`, `files`, ...) once the job completed. */
  result: (params: z.output<S>, outputs: Record<string, unknown>) => Record<string, unknown>;
  /** Its remote tasks leave files in the job's work folder (storage/work-folder.ts), which retention removes. */
  usesWorkFolder?: boolean;
}

/** A workflow with its parameter type erased, as the registry and the engine hold it. */
export interface Workflow {
  name: string;
  description: string;
  parameters: z.ZodType;
  example: Record<string, unknown>;
  tasks: (params: unknown) => TaskDefinition<unknown>[];
  result: (params: unknown, outputs: Record<string, unknown>) => Record<string, unknown>;
  usesWorkFolder?: boolean;
}

/** Declares a workflow; its functions receive parameters already validated by its schema. */
export function defineWorkflow<S extends z.ZodType>(spec: WorkflowSpec<S>): Workflow {
  return spec as unknown as Workflow;
}
