/** Which callback URLs are refused at submission (callbacks.md, Refused endpoints). */

/** Why `text` cannot be a callback endpoint, or null when it can. */
export function endpointProblem(text: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute http(s) URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must use http or https";
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return "must not contain spaces or control characters";
  if (allowPrivate) return null;
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "must not point to localhost";
  if (host.endsWith(".local") || host.endsWith(".internal")) return "must not point to a .local or .internal name";
  if (isPrivateIPv4(host)) return "must not point to a loopback, private or link-local address";
  if (host.startsWith("[") && isPrivateIPv6(host.slice(1, -1))) {
    return "must not point to a loopback, link-local or unique-local address";
  }
  return null;
}

function isPrivateIPv4(host: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!match) return false;
  const [a, b, c] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    a >= 224 || // multicast, reserved, broadcast
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && c === 0) ||
    (a === 198 && (b === 18 || b === 19))
  );
}

/** The IPv4 address in the last 32 bits of an IPv6 address written as two hex groups. */
function embeddedIPv4(high: string, low: string): string {
  const h = parseInt(high, 16);
  const l = parseInt(low, 16);
  return `${h >> 8}.${h & 255}.${l >> 8}.${l & 255}`;
}

function isPrivateIPv6(address: string): boolean {
  const lower = address.toLowerCase();
  if (lower === "::1" || lower === "::") return true;
  // IPv4-compatible (::a.b.c.d), IPv4-mapped (::ffff:…, ::ffff:0:…) and NAT64 (64:ff9b::…) addresses carry
  // an IPv4 address that the IPv4 rules judge; URL parsing has already turned it into two hex groups.
  const embedded = /^(?:::|::ffff:|::ffff:0:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (embedded) return isPrivateIPv4(embeddedIPv4(embedded[1]!, embedded[2]!));
  const first = parseInt(lower.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique-local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xffc0) === 0xfec0 || // site-local fec0::/10 (deprecated)
    (first & 0xff00) === 0xff00 // multicast ff00::/8
  );
}
