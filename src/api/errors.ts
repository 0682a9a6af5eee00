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
    if (error.status < 500) {
      return errorResponse(c, new ApiError(error.status as ContentfulStatusCode, "validation_failed", error.message));
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
