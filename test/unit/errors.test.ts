import { describe, expect, it } from "vitest";
import { errorMessage, isRetryable, NonRetryableError } from "../../src/domain/errors";

describe("executor errors", () => {
  it("plain errors are retryable; NonRetryableError is not", () => {
    expect(isRetryable(new Error("timeout"))).toBe(true);
    expect(isRetryable(new NonRetryableError("missing source"))).toBe(false);
    expect(new NonRetryableError("x")).toBeInstanceOf(Error);
    expect(new NonRetryableError("x").name).toBe("NonRetryableError");
  });

  it("looks through the cause chain", () => {
    const root = new NonRetryableError("bad credentials");
    const wrapped = new Error("storage call failed", { cause: new TypeError("fetch failed", { cause: root }) });
    expect(isRetryable(wrapped)).toBe(false);
    expect(isRetryable(new Error("outer", { cause: new Error("inner") }))).toBe(true);
  });

  it("non-Error values and non-Error causes are retryable", () => {
    expect(isRetryable("boom")).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
    expect(isRetryable(new Error("x", { cause: { name: "NonRetryableError" } }))).toBe(true);
  });

  it("a cyclic cause chain does not hang", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(isRetryable(a)).toBe(true);
  });

  it("errorMessage gives the message, never the stack", () => {
    const error = new Error("disk full");
    expect(errorMessage(error)).toBe("disk full");
    expect(errorMessage(new NonRetryableError(""))).toBe("NonRetryableError");
    expect(errorMessage("plain text")).toBe("plain text");
    expect(errorMessage({ message: "not an error" })).toBe("unknown error");
  });
});
