/**
 * Lease ids (workers.md): `lse_<attempt address>.<secret>`. The address (base64url JSON of job id, task and
 * attempt) routes a call to the job's coordinator; the whole id is the capability: the coordinator keeps
 * only its SHA-256 digest, for the one attempt it grants, and compares in constant time. Not an API key
 * or a pool token anywhere else (different prefix, different store).
 */
import { randomToken } from "./api-keys";

export interface LeaseAddress {
  jobId: string;
  task: string;
  attempt: number;
}

const PREFIX = "lse_";

export function newLeaseId(address: LeaseAddress): string {
  const json = JSON.stringify([address.jobId, address.task, address.attempt]);
  const encoded = btoa(String.fromCharCode(...new TextEncoder().encode(json))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${PREFIX}${encoded}.${randomToken()}`;
}

/** The attempt a lease id names, or null when it is not one. */
export function leaseAddress(leaseId: string): LeaseAddress | null {
  if (!leaseId.startsWith(PREFIX) || leaseId.length > 600) return null;
  const [encoded, secret, extra] = leaseId.slice(PREFIX.length).split(".");
  if (!encoded || !secret || extra !== undefined || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  try {
    const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
    if (!Array.isArray(parsed) || parsed.length !== 3) return null;
    const [jobId, task, attempt] = parsed as unknown[];
    if (typeof jobId !== "string" || typeof task !== "string" || !Number.isInteger(attempt) || (attempt as number) < 1) return null;
    if (jobId.length === 0 || jobId.length > 64 || task.length === 0 || task.length > 128) return null;
    return { jobId, task, attempt: attempt as number };
  } catch {
    return null;
  }
}
