import { z } from "@hono/zod-openapi";

/** Schemas shared by the routes; each validates requests and documents them in /openapi.json. */

export const ErrorBody = z
  .object({
    error: z.string().openapi({ example: "Unauthorised request." }),
    code: z.string().openapi({ example: "unauthorised" }),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    id: z.string().optional(),
  })
  .openapi("Error");
export type ErrorBody = z.infer<typeof ErrorBody>;

/** A whole number, also accepted as a numeric string (the reference API's examples send "2"). */
const looseInt = (min: number, max: number) =>
  z.preprocess((value) => (typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value), z.int().min(min).max(max));

/** A boolean, also accepted as "true"/"false" or 1/0. */
export const looseBoolean = z.preprocess(
  (value) => (value === "true" || value === 1 || value === "1" ? true : value === "false" || value === 0 || value === "0" ? false : value),
  z.boolean(),
);

export const Priority = looseInt(1, 10);

/** UTC time: ISO-8601, with or without `Z` (the reference documents `yyyy-MM-ddTHH:mm:ss.fff`, UTC). */
export const UtcTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]00:?00)?$/, "must be an ISO-8601 UTC time such as 2026-12-01T10:00:00.000Z")
  .refine(isRealTime, "is not a valid date and time (e.g. 30 February or 25:00)");

/** Whether the fields of an ISO-8601 time name a real moment: Date.parse rolls 2027-02-30 over to 2 March. */
function isRealTime(text: string): boolean {
  const ms = Date.parse(utcText(text));
  const fields = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (Number.isNaN(ms) || !fields) return false;
  const date = new Date(ms);
  const [year, month, day, hour, minute, second = "0"] = fields.slice(1);
  return (
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() + 1 === Number(month) &&
    date.getUTCDate() === Number(day) &&
    date.getUTCHours() === Number(hour) &&
    date.getUTCMinutes() === Number(minute) &&
    date.getUTCSeconds() === Number(second)
  );
}

/** Appends `Z` to a UTC time written without a zone. */
export function utcText(text: string): string {
  return /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
}

/** A semaphore URL as sent; the routes refuse it (endpointProblem) rather than let a parser rewrite it. */
export const SemaphoreUrl = z
  .string()
  .max(2048, "a semaphore URL may be at most 2048 characters")
  .openapi({ format: "uri", description: "Polled with GET until it answers 2xx/3xx; used exactly as sent" });

export const JobRequest = z
  .object({
    client: z.string().optional().openapi({ description: "Must equal the `client` header when present." }),
    job: z.object({
      workflow: z.string().min(1).max(128).openapi({ example: "selftest" }),
      priority: Priority.default(5).openapi({ type: "integer", minimum: 1, maximum: 10, description: "1 highest … 10" }),
      run_at: UtcTime.optional(),
      // Plain text, checked as sent by the route (endpointProblem): zod's url() would rewrite it to the parser's form.
      semaphore_url: SemaphoreUrl.optional(),
      persist: looseBoolean.default(false).openapi({ type: "boolean" }),
    }),
    parameters: z.record(z.string(), z.unknown()).openapi({
      description: "The workflow's parameters; see GET /workflows/{name} for each workflow's JSON Schema.",
      example: { content_id: "demo1", tasks: 5, rest_endpoints: ["https://cms.example/hook"] },
    }),
  })
  .openapi("JobRequest");
export type JobRequest = z.infer<typeof JobRequest>;

export const JobAccepted = z
  .object({
    id: z.string(),
    job_id: z.string(),
    result: z.literal("accepted"),
    queue_state: z.string(),
  })
  .openapi("JobAccepted");

export const TaskObject = z
  .object({
    task_id: z.string(),
    task_name: z.string(),
    state: z.string(),
    attempts: z.number(),
    started_at: z.string().nullable(),
    ended_at: z.string().nullable(),
    message: z.string(),
    progress: z.number(),
    needs: z.array(z.string()).openapi({ description: "(ext) the tasks this one waits for: the job's task graph" }),
  })
  .openapi("Task");

export const JobObject = z
  .object({
    id: z.string(),
    client: z.string(),
    workflow: z.string(),
    priority: z.number(),
    position: z.number().nullable(),
    top_of_queue: z.boolean(),
    parameters: z.unknown(),
    created_at: z.string(),
    updated_at: z.string(),
    queue_state: z.string(),
    failed: z.boolean(),
    run_at: z.string().nullable(),
    persist: z.boolean(),
    progress: z.number(),
    tasks: z.array(TaskObject).optional(),
    result: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi("Job");
export type JobObject = z.infer<typeof JobObject>;

export const LogLine = z
  .object({
    id: z.number(),
    job_id: z.string(),
    task_id: z.string().nullable(),
    severity: z.number(),
    severity_description: z.string(),
    progname: z.string(),
    message: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    visible: z.boolean(),
  })
  .openapi("LogLine");

export const JobIdParam = z.object({
  id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "01JD5Q3Y8Z6K7M8N9P0QRSTVWX" }),
});

const errorBody = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

/** What any authenticated route may answer besides its own results. */
export const errorResponses = {
  400: errorBody("Bad input"),
  401: errorBody("Missing or wrong credentials"),
  429: errorBody("Rate limited, or too many failed authentications (Retry-After says when to try again)"),
} as const;

/** What a route with a request body may answer too. */
export const bodyErrorResponses = {
  413: errorBody("The body is larger than 256 KiB"),
  415: errorBody("The body is not JSON (Content-Type: application/json)"),
} as const;

/** A body's `client` naming another client than the `client` header. */
export const forbiddenResponse = { 403: errorBody("The body's client is not the client header's") } as const;

export const notFoundResponse = {
  404: { description: "No such job for this client", content: { "application/json": { schema: ErrorBody } } },
} as const;
