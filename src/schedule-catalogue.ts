/** The engine's recurring jobs (GET /schedules), in the reference system's shape. */
export const SCHEDULES = {
  queue_scheduled_jobs: {
    class: "QueueJobs",
    every: [60, { first_in: 5 }],
    queue: "scheduler",
    // `every` keeps the reference system's shape; here run_at is kept by each client's scheduler alarm (on
    // time) and a semaphore_url is polled every schedule_interval seconds (the client setting).
    description:
      "Starts scheduled jobs when their run_at passes (each client's scheduler alarm) and once their semaphore_url answers 2xx/3xx, polled every schedule_interval seconds.",
  },
  retention_cleanup: {
    class: "RetentionCleanup",
    every: [300, { first_in: 300 }],
    queue: "scheduler",
    description: "Deletes ended jobs older than retention_days with their tasks, logs and deliveries, unless persist is set.",
  },
} as const;

export type ScheduleName = keyof typeof SCHEDULES;

export function isScheduleName(name: string): name is ScheduleName {
  return Object.hasOwn(SCHEDULES, name);
}
