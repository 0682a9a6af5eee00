/** Which callback and semaphore URLs are refused (callbacks.md, Refused endpoints). */

/**
 * Why `text` cannot be used as an http(s) URL exactly as written, or null. The text is checked as sent:
 * the URL parser would quietly drop a tab, a newline or leading and trailing spaces, so a URL with any
 * whitespace or control character is refused instead of being "cleaned up".
 */
export function httpUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute http(s) URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must use http or https";
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  // \s covers Unicode spaces (NBSP, U+2028, BOM…); then C0, DEL and C1 controls.
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(text)) return "must not contain spaces or control characters";
  return null;
}

/**
 * Why `text` cannot be a CPIX key server URL, or null: an endpoint over HTTPS (the answer carries the content
 * keys in clear, the request the client's credentials); plain http only with the development setting.
 */
export function keyServerUrlProblem(text: string, allowPrivate: boolean): string | null {
  const problem = endpointProblem(text, allowPrivate);
  if (problem || allowPrivate) return problem;
  return new URL(text).protocol === "https:" ? null : "must use https (the key server's answer carries the content keys)";
}

/** Why `text` cannot be a callback endpoint (or semaphore URL), or null when it can. */
export function endpointProblem(text: string, allowPrivate: boolean): string | null {
  const problem = httpUrlProblem(text);
  if (problem || allowPrivate) return problem;
  const host = new URL(text).hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "must not point to localhost";
  if (host.endsWith(".local") || host.endsWith(".internal")) return "must not point to a .local or .internal name";
  const v4 = parseIPv4(host);
  if (v4 && isPrivateIPv4(v4)) return "must not point to a loopback, private or link-local address";
  const v6 = host.startsWith("[") ? parseIPv6(host.slice(1, -1)) : null;
  if (v6) {
    const embedded = embeddedIPv4(v6).find(isPrivateIPv4);
    if (embedded) return `must not point to a loopback, private or link-local address (${embedded.join(".")} inside an IPv6 address)`;
    if (isPrivateIPv6(v6)) return "must not point to a loopback, link-local or unique-local address";
  }
  return null;
}

type IPv4 = [number, number, number, number];

/** The four bytes of a dotted IPv4 host (the URL parser has already turned `0x7f.1` or `2130706433` into one). */
function parseIPv4(host: string): IPv4 | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])] : null;
}

function isPrivateIPv4([a, b, c]: IPv4): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    a >= 224 || // multicast, reserved, broadcast
    (a === 100 && b >= 64 && b <= 127) || // shared address space (carrier-grade NAT)
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // IETF protocol assignments, TEST-NET-1
    (a === 192 && b === 88 && c === 99) || // the deprecated 6to4 relay anycast
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) // TEST-NET-3
  );
}

/** The eight 16-bit groups of an IPv6 address written in hex groups (at most one `::`), or null. */
export function parseIPv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  return all.map((group) => parseInt(group, 16));
}

const v4Of = (high: number, low: number): IPv4 => [high >> 8, high & 255, low >> 8, low & 255];
const zero = (groups: number[]) => groups.every((group) => group === 0);

/**
 * The IPv4 addresses an IPv6 address carries by one of the transition mechanisms, each of which reaches
 * that IPv4 host: IPv4-compatible (`::a.b.c.d`), IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
 * (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`), 6to4 (`2002:AABB:CCDD::`) and Teredo (`2001:0::`, its
 * server in bits 32–63 and its client, bit-inverted, in the last 32).
 */
function embeddedIPv4(g: number[]): IPv4[] {
  if (zero(g.slice(0, 6)) && !(g[6] === 0 && g[7]! <= 1)) return [v4Of(g[6]!, g[7]!)]; // :: and ::1 are judged as IPv6
  if (zero(g.slice(0, 5)) && g[5] === 0xffff) return [v4Of(g[6]!, g[7]!)];
  if (zero(g.slice(0, 4)) && g[4] === 0xffff && g[5] === 0) return [v4Of(g[6]!, g[7]!)];
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(g.slice(2, 6))) return [v4Of(g[6]!, g[7]!)];
  if (g[0] === 0x2002) return [v4Of(g[1]!, g[2]!)];
  if (g[0] === 0x2001 && g[1] === 0) return [v4Of(g[2]!, g[3]!), v4Of(~g[6]! & 0xffff, ~g[7]! & 0xffff)];
  return [];
}

function isPrivateIPv6(g: number[]): boolean {
  const first = g[0]!;
  return (
    zero(g.slice(0, 7)) || // :: (unspecified) and ::1 (loopback); ::a.b.c.d was judged by its IPv4 address
    (first === 0x64 && g[1] === 0xff9b && g[2] === 1) || // local-use NAT64 64:ff9b:1::/48: the operator's own translators
    (first === 0x100 && zero(g.slice(1, 4))) || // discard-only 100::/64
    (first === 0x2001 && g[1] === 0xdb8) || // documentation 2001:db8::/32
    (first & 0xfe00) === 0xfc00 || // unique-local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xffc0) === 0xfec0 || // site-local fec0::/10 (deprecated)
    (first & 0xff00) === 0xff00 // multicast ff00::/8
  );
}
