import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { AppEnv } from "./app-env";

export type ErrorCode =
  | "validation_failed"
  | "invalid_json"
  | "unauthorised"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "internal";

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error the API answers with its one error shape: `{error, code, details?, id?}`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const notFound = (what = "Job") => new ApiError(404, "not_found", `${what} not found.`);

export function validationError(details: ErrorDetail[], prefix = ""): ApiError {
  const first = details[0];
  const summary = first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid request";
  return new ApiError(400, "validation_failed", `${prefix}${summary}`, details);
}

/** zod issues as `details`, with paths like `parameters.drm[0]`. */
export function zodDetails(error: z.ZodError, root: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((issue) => ({ path: formatPath([...root, ...(issue.path as (string | number)[])]), message: issue.message }));
}

export function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((text, part) => (typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${part}` : part), "");
}

export function errorResponse(c: Context<AppEnv>, error: ApiError): Response {
  const body: Record<string, unknown> = { error: error.message, code: error.code };
  if (error.details) body.details = error.details;
  return c.json(body, error.status, error.headers);
}

/** The machine code of a 4xx that a library raised (HTTPException) rather than the engine. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "unauthorised";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "rate_limited";
    default:
      return "validation_failed";
  }
}

/** How much of a caller's own input an error message may echo back. */
export const MAX_ECHO_CHARS = 200;

/** Input quoted in an error message, clipped so that a caller cannot inflate the answer (`abc…(+99,800 characters)`). */
export function clip(text: string, max = MAX_ECHO_CHARS): string {
  // toWellFormed: a cut through a surrogate pair must not leave half of it in the JSON answer.
  return text.length <= max ? text : `${text.slice(0, max).toWellFormed()}…(+${(text.length - max).toLocaleString("en")} characters)`;
}

/** The one `onError`: known errors keep their status; anything else is a 500 without internals. */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) return errorResponse(c, error);
  if (error instanceof HTTPException) {
    if (error.status === 400 && /json/i.test(error.message)) {
      return errorResponse(c, new ApiError(400, "invalid_json", "The request body is not valid JSON."));
    }
    if (error.status === 413) {
      return errorResponse(c, new ApiError(413, "payload_too_large", "The request body is larger than 256 KiB."));
    }
    if (error.status === 415) {
      return errorResponse(c, new ApiError(415, "unsupported_media_type", "Send the request body as JSON with Content-Type: application/json."));
    }
    if (error.status < 500) {
      return errorResponse(c, new ApiError(error.status as ContentfulStatusCode, codeForStatus(error.status), clip(error.message)));
    }
  }
  console.error(
    JSON.stringify({
      level: "error",
      message: "unhandled error",
      request_id: c.get("requestId"),
      client: c.get("client"),
      error: error.message,
    }),
  );
  return errorResponse(c, new ApiError(500, "internal", "Internal error. Quote the x-request-id header when reporting it."));
}
