/** What can happen to a job (events) and what the coordinator must do about it (effects). */

export type JobEvent =
  /** Admission control started the job: its ready tasks are dispatched. */
  | { type: "start" }
  /** Retry in place of an ended, failed job: failed and cancelled tasks become pending again; completed ones stay. */
  | { type: "restart" }
  /**
   * A consumer wants to run an attempt it received; a remote worker's lease carries `lease`, the digest of
   * its lease token (a task of a pool is claimed only that way, an edge task never).
   */
  | { type: "claim"; task: string; attempt: number; lease?: string }
  /** A remote worker still holds its lease: it is extended (up to the task's timeout), with its progress. */
  | { type: "heartbeat"; task: string; attempt: number; progress?: number; phase?: string }
  /**
   * An attempt succeeded. With `takeNext`, the reporter will run one newly ready task itself:
   * it is claimed at once instead of being sent through the queue (its lease still guards it).
   */
  | { type: "complete"; task: string; attempt: number; output: unknown; takeNext?: boolean }
  | { type: "fail"; task: string; attempt: number; error: string; retryable: boolean }
  | { type: "progress"; task: string; attempt: number; progress: number }
  /** The watchdog woke up: expired leases and due retries are handled. */
  | { type: "tick" }
  /** Stop starting tasks; running ones finish. */
  | { type: "pause" }
  | { type: "resume" }
  /** Abandon the job: running tasks are abandoned, pending ones cancelled, the job fails. */
  | { type: "cancel"; message: string };

/** A callback to send, numbered in the job's callback sequence. */
export type Notice =
  | {
      kind: "task";
      sequence: number;
      event: "start" | "complete" | "fail" | "progress";
      task: string;
      taskId: string;
      attempt: number;
      message: string;
      /** On `fail`: whether another attempt follows. */
      retrying?: boolean;
      /** On `progress`: the task's progress, 0-100. */
      progress?: number;
      time: number;
    }
  | {
      kind: "job";
      sequence: number;
      status: "completed" | "failed";
      /** Failure or cancellation message; for a completed job the workflow's result supplies it. */
      message: string;
      time: number;
    };

export type Severity = "info" | "warn" | "error";

export type Effect =
  | { type: "dispatch"; task: string; attempt: number }
  /** The reporter of a `complete` with `takeNext` runs this attempt itself (already claimed). */
  | { type: "handoff"; task: string; attempt: number }
  | { type: "notify"; notice: Notice }
  | { type: "log"; seq: number; task: string | null; severity: Severity; message: string; time: number }
  | { type: "ended"; outcome: "completed" | "failed" };

export type Applied = "applied" | "ignored";
