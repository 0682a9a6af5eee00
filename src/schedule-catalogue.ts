/** The engine's recurring jobs (GET /schedules), in the reference system's shape. */
export const SCHEDULES = {
  queue_scheduled_jobs: {
    class: "QueueJobs",
    every: [60, { first_in: 5 }],
    queue: "scheduler",
    description: "Enqueues scheduled jobs whose run_at has passed and whose semaphore_url answers 2xx/3xx.",
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
