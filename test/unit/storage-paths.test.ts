import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeKeyForUrl, joinKey, pathProblem, prefixProblem } from "../../src/storage/paths";
import { base64, md5 } from "../../src/storage/md5";
import { decodeXml, encodeXml, xmlElements, xmlText } from "../../src/storage/xml";

describe("path safety", () => {
  it("accepts relative paths below a root", () => {
    for (const path of ["demo1", "demo1/video.ismv", "a b/c+d/é.mp4", "demo-content/assets/foo.gif", "..hidden", "a..b/c", "x/.well"]) {
      expect(pathProblem(path), path).toBeNull();
    }
  });

  it("refuses traversal, absolute paths, empty segments, backslashes and control characters", () => {
    const cases: [string, RegExp][] = [
      ["", /empty/],
      ["..", /'\.\.'/],
      ["../x", /'\.\.'/],
      ["a/../../b", /'\.\.'/],
      ["./a", /'\.'/],
      ["/etc/passwd", /relative/],
      ["a//b", /empty segments/],
      ["a/", /empty segments/],
      ["a\\..\\b", /backslash/],
      ["a\u0000b", /control/],
      ["a\nb", /control/],
      ["a\u007fb", /control/],
      ["a\u0085b", /control/],
      ["x".repeat(1025), /1024 bytes/],
      ["é".repeat(513), /1024 bytes/],
    ];
    for (const [path, message] of cases) expect(pathProblem(path), JSON.stringify(path)).toMatch(message);
  });

  it("lets a prefix end with one '/' but not be empty", () => {
    expect(prefixProblem("a/b/")).toBeNull();
    expect(prefixProblem("a/b")).toBeNull();
    expect(prefixProblem("/")).not.toBeNull();
    expect(prefixProblem("")).not.toBeNull();
    expect(prefixProblem("a//")).not.toBeNull();
  });

  it("never accepts a path that could leave its root once joined", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "..", ".", "", "/", "\\", "b c", "%2e%2e", "\u0000"), { maxLength: 8 }), (parts) => {
        const path = parts.join("");
        if (pathProblem(path) !== null) return;
        const segments = joinKey("root", path).split("/");
        expect(segments[0]).toBe("root");
        expect(segments.includes("..") || segments.includes(".") || segments.includes("")).toBe(false);
      }),
    );
  });

  it("joins roots and encodes keys for URLs segment by segment", () => {
    expect(joinKey("", "a/b")).toBe("a/b");
    expect(joinKey("content/vod", "demo1", "x.ism")).toBe("content/vod/demo1/x.ism");
    expect(encodeKeyForUrl("a b/c+d/(x)!*'/é%")).toBe("a%20b/c%2Bd/%28x%29%21%2A%27/%C3%A9%25");
  });
});

describe("md5 and xml helpers", () => {
  it("md5 matches node:crypto", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(base64(md5(bytes))).toBe(createHash("md5").update(bytes).digest("base64"));
      }),
    );
  });

  it("reads flat elements and entities", () => {
    const xml = `<R><Contents><Key>a &amp; b&#x2F;&#47;&lt;c&gt;</Key><Size>3</Size></Contents><Contents><Key>d</Key></Contents><NextMarker/></R>`;
    expect(xmlElements(xml, "Contents").map((entry) => xmlText(entry, "Key"))).toStrictEqual(["a & b//<c>", "d"]);
    expect(xmlText(xml, "NextMarker")).toBe("");
    expect(xmlText(xml, "Missing")).toBeNull();
    expect(decodeXml(encodeXml(`<'"&>`))).toBe(`<'"&>`);
  });
});
