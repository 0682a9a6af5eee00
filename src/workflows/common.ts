import { z } from "zod";

/** Parameters every workflow accepts (reference §3, common parameters). */
export const ContentId = z.string().trim().min(1, "content_id must not be empty").max(256);
export const RestEndpoints = z
  .array(z.string().max(2048, "a callback URL may be at most 2048 characters"))
  .max(10, "at most 10 rest_endpoints")
  .default([]);
/** Any JSON value, echoed in the job callback. */
export const CustomData = z.json().optional();
export const OutputRoot = z.string().min(1).max(64).optional();

export const commonParameters = {
  rest_endpoints: RestEndpoints,
  custom_data: CustomData,
  output_root: OutputRoot,
};
