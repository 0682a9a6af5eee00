import type { EngineDriver } from "./engine-driver.ts";
import type { FuzzRequest, FuzzResponse } from "./fuzz-request.ts";
import { secretsInBody, showOnceSecrets, type SecretRegistry } from "./secrets.ts";

/** What the fuzzer learns from answers: new secrets, clients, keys, idempotency keys. */
export class Learner {
  private readonly keys = new Map<string, { name: string; apiKey: string }>();

  constructor(
    private readonly driver: EngineDriver,
    private readonly secrets: SecretRegistry,
  ) {}

  from(request: FuzzRequest, response: FuzzResponse, stored: string[]): void {
    if (response.status < 200 || response.status >= 300) return;
    const ctx = this.driver.ctx;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
    } catch {
      // not JSON: nothing to learn
    }
    this.secrets.add(...stored, ...showOnceSecrets(request.operation, response.status, body));
    if (typeof body.key_id === "string" && typeof body.api_key === "string" && typeof body.client === "string") {
      this.keys.set(body.key_id, { name: body.client, apiKey: body.api_key });
    }
    if (request.operation === "POST /admin/clients" && typeof body.client === "string" && ctx.sacrificial.length < 8) {
      ctx.sacrificial.push({ name: body.client, activeKeyIds: typeof body.key_id === "string" ? [body.key_id] : [] });
    }
    if (request.operation === "DELETE /admin/clients/{name}/keys/{key_id}") {
      const keyId = decodeURIComponent(request.target.split("/").pop() ?? "");
      const key = this.keys.get(keyId);
      if (key) ctx.revoked = [...ctx.revoked.slice(-9), { name: key.name, keyId, apiKey: key.apiKey }];
    }
    const idempotencyKey = request.headers["idempotency-key"];
    if (request.operation === "POST /job" && idempotencyKey && request.body !== undefined && !ctx.idempotency.some((used) => used.key === idempotencyKey)) {
      ctx.idempotency = [...ctx.idempotency.slice(-19), { key: idempotencyKey, body: request.body.toString() }];
    }
  }
}


/** The secrets a request body stores (callback rule header values, storage credentials). */
export function storedSecrets(request: FuzzRequest): string[] {
  if (request.body === undefined) return [];
  try {
    return secretsInBody(JSON.parse(request.body.toString()) as unknown);
  } catch {
    return [];
  }
}
