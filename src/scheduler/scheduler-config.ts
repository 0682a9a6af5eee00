import type { AdmissionLimits } from "../domain/admission";
import { resolveSettings, type ClientSettings } from "../domain/settings";

/** Admission settings of a client, pushed by the API (submission, POST /settings, PUT /scheduler). */
export interface SchedulerConfig extends AdmissionLimits {
  /** How often a semaphore URL is polled. */
  scheduleIntervalMs: number;
  /** The `queue_scheduled_jobs` schedule: when off, scheduled jobs stay scheduled. */
  queueScheduledJobs: boolean;
  /**
   * When the settings this was made from last changed (ClientSnapshot.configVersion). A scheduler keeps the
   * newest it was given: a job submitted through an isolate whose copy of the settings is a few seconds old
   * must not put older limits back. Absent: not versioned (tools and tests), always applied.
   */
  version?: string;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  maxJobs: 2,
  prioritySlots: 0,
  priorityThreshold: 5,
  scheduleIntervalMs: 60_000,
  queueScheduledJobs: true,
};

export function schedulerConfigFrom(settings: ClientSettings, queueScheduledJobs: boolean): SchedulerConfig {
  return {
    maxJobs: settings.max_jobs,
    prioritySlots: settings.priority_slots,
    priorityThreshold: settings.priority_threshold,
    scheduleIntervalMs: settings.schedule_interval * 1000,
    queueScheduledJobs,
  };
}

/** The admission settings in a client snapshot (stored settings, switched-off schedules). */
export function schedulerConfigOf(snapshot: { settings: { name: string; value: string }[]; inactiveSchedules: string[]; configVersion: string }): SchedulerConfig {
  return { ...schedulerConfigFrom(resolveSettings(snapshot.settings), !snapshot.inactiveSchedules.includes("queue_scheduled_jobs")), version: snapshot.configVersion };
}
