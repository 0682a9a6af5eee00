import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { XMLParser } from "fast-xml-parser";

/**
 * A local CPIX 2.3 key server, as the DASH-IF CPIX specification and the key servers that follow it answer a
 * packager: the request names content key ids (each with its `commonEncryptionScheme` and, in usage rules, its
 * intended track type) and DRM systems; the answer is that document with a fresh 16-byte key per key id
 * (`pskc:PlainValue`, base64), and per DRM system a `PSSH` (a whole `pssh` box, base64) or, for FairPlay, a
 * `URIExtXKey` (base64 of the `skd://` URI). Keys are kept per key id, so an id asked for again gets the same
 * key. `/500` answers 500 and `/garbage` something that is not XML; a request without the configured header
 * is refused (401); a document mixing encryption schemes gets 422, as SPEKE v2 key servers answer.
 */

export interface CpixRequestSeen {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  contentId: string;
  keys: { kid: string; scheme: string; track: string }[];
  systems: { kid: string; systemId: string }[];
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", removeNSPrefix: true, isArray: (name) => ["ContentKey", "DRMSystem", "ContentKeyUsageRule"].includes(name) });

const WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed";
const FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2";

/** A version-1 `pssh` box of a system naming one key id (ISO/IEC 23001-7 §8.1), with no system data. */
export function psshBox(systemId: string, kid: string): Buffer {
  const body = Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from(systemId.replaceAll("-", ""), "hex"), Buffer.from([0, 0, 0, 1]), Buffer.from(kid.replaceAll("-", ""), "hex"), Buffer.from([0, 0, 0, 0])]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + body.length);
  return Buffer.concat([size, Buffer.from("pssh"), body]);
}

export async function startCpixServer(header: { name: string; value: string }) {
  const requests: CpixRequestSeen[] = [];
  /** Key ids (UUID, lowercase) → key bytes, for the tests to decrypt with. */
  const keys = new Map<string, Buffer>();
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      if (request.headers[header.name.toLowerCase()] !== header.value) return void response.writeHead(401).end("no api key");
      if (request.url === "/500") return void response.writeHead(500, "Internal Server Error").end("key store unavailable");
      if (request.url === "/garbage") return void response.writeHead(200, { "content-type": "text/html" }).end("<html><body>maintenance</body></html>");
      const cpix = parser.parse(body).CPIX;
      // As key servers do (SPEKE v2 answers 422): one encryption scheme per document, and the signalling to
      // fill in asked for by empty elements.
      const schemes = new Set(cpix.ContentKeyList.ContentKey.map((key: Record<string, string>) => key["@commonEncryptionScheme"]));
      if (schemes.size !== 1) return void response.writeHead(422).end("Mixed encryption schemes");
      const unasked = (cpix.DRMSystemList?.DRMSystem ?? []).find((system: Record<string, unknown>) => !("PSSH" in system) && !("URIExtXKey" in system));
      if (unasked) return void response.writeHead(400).end("a DRMSystem asks for no signalling");
      const seen: CpixRequestSeen = {
        path: request.url ?? "/",
        headers: request.headers,
        contentId: cpix["@contentId"],
        keys: cpix.ContentKeyList.ContentKey.map((key: Record<string, string>) => ({
          kid: key["@kid"]!.toLowerCase(),
          scheme: key["@commonEncryptionScheme"],
          track: cpix.ContentKeyUsageRuleList.ContentKeyUsageRule.find((rule: Record<string, string>) => rule["@kid"]!.toLowerCase() === key["@kid"]!.toLowerCase())?.["@intendedTrackType"],
        })),
        systems: (cpix.DRMSystemList?.DRMSystem ?? []).map((system: Record<string, string>) => ({ kid: system["@kid"]!.toLowerCase(), systemId: system["@systemId"]!.toLowerCase() })),
      };
      requests.push(seen);
      for (const { kid } of seen.keys) if (!keys.has(kid)) keys.set(kid, randomBytes(16));
      const contentKeys = seen.keys.map(({ kid, scheme }) => `<cpix:ContentKey kid="${kid}" commonEncryptionScheme="${scheme}"><cpix:Data><pskc:Secret><pskc:PlainValue>${keys.get(kid)!.toString("base64")}</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>`);
      const systems = seen.systems.map(({ kid, systemId }) =>
        systemId === FAIRPLAY
          ? `<cpix:DRMSystem kid="${kid}" systemId="${systemId}"><cpix:URIExtXKey>${Buffer.from(`skd://keys.test/${kid}`).toString("base64")}</cpix:URIExtXKey></cpix:DRMSystem>`
          : `<cpix:DRMSystem kid="${kid}" systemId="${systemId}">${systemId === WIDEVINE ? `<cpix:PSSH>${psshBox(systemId, kid).toString("base64")}</cpix:PSSH>` : ""}</cpix:DRMSystem>`,
      );
      response.writeHead(200, { "content-type": "application/xml" });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" contentId="${seen.contentId}"><cpix:ContentKeyList>${contentKeys.join("")}</cpix:ContentKeyList><cpix:DRMSystemList>${systems.join("")}</cpix:DRMSystemList></cpix:CPIX>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    keys,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
