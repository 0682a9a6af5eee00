/**
 * Strings that break naive code: path traversal, SQL and template metacharacters, Unicode oddities (lone
 * surrogates, direction overrides, NUL, CR/LF), URL tricks and sizes. Each has a label for the report.
 * Some of them are valid input somewhere (an SQL quote in a content_id is just text): a request carrying one
 * may be accepted; it must never answer 5xx, and a refused one must change nothing.
 */
export interface HostileString {
  label: string;
  value: string;
}

const h = (label: string, value: string): HostileString => ({ label, value });

export const TRAVERSAL: HostileString[] = [
  h("traversal ../x", "../x"),
  h("traversal ../../etc/passwd", "../../etc/passwd"),
  h("absolute /abs", "/abs"),
  h("root /", "/"),
  h("empty segment a//b", "a//b"),
  h("dot segment a/./b", "a/./b"),
  h("trailing x/..", "x/.."),
  h("backslash a\\b", "a\\b"),
  h("backslash traversal ..\\x", "..\\x"),
  h("encoded traversal %2e%2e/x", "%2e%2e/x"),
  h("home ~/x", "~/x"),
];

export const SQL: HostileString[] = [
  h("sql quote", "' OR '1'='1"),
  h("sql drop", "'; DROP TABLE jobs; --"),
  h("sql union", "x' UNION SELECT key_hash FROM api_keys --"),
  h("sql double quote", '" OR 1=1 --'),
  h("like %", "%"),
  h("like _", "_"),
  h("backslash", "\\"),
  h("semicolon", "1; SELECT 1"),
];

export const UNICODE: HostileString[] = [
  h("U+202E override", "abc\u202Edef"),
  h("NUL", "a\u0000b"),
  h("CR/LF", "line\r\nX-Injected: 1"),
  h("LF", "line\nbreak"),
  h("tab", "a\tb"),
  h("lone high surrogate", "x\uD800y"),
  h("lone low surrogate", "x\uDC00y"),
  h("BOM", "\uFEFFx"),
  h("zero width", "a\u200Bb"),
  h("emoji", "😀🎬"),
  h("combining", "e\u0301"),
  h("NEL", "a\u0085b"),
  h("line separator", "a\u2028b"),
  h("U+FFFF", "\uFFFF"),
  h("RTL text", "مرحبا"),
  h("ANSI escape", "\u001b[31mred"),
];

export const MISC: HostileString[] = [
  h("empty", ""),
  h("space", " "),
  h("10,000 chars", "a".repeat(10_000)),
  h("3,000 two-byte chars", "é".repeat(3_000)),
  h("template", "{{job_id}}${jndi:ldap://x/a}"),
  h("html", "<script>alert(1)</script>"),
  h("format", "%s%s%n%x"),
  h("NaN", "NaN"),
  h("1e309", "1e309"),
  h("-1", "-1"),
  h("json null", "null"),
  h("json object", "{}"),
  h("__proto__", "__proto__"),
  h("constructor", "constructor"),
];

export const URLS: HostileString[] = [
  h("javascript url", "javascript:alert(1)"),
  h("file url", "file:///etc/passwd"),
  h("metadata ip", "http://169.254.169.254/latest/meta-data/"),
  h("credentials in url", "https://user:pass@cms.example/hook"),
  h("space in url", "https://cms.example/a b"),
  h("CRLF in url", "https://cms.example/\r\nX-Injected: 1"),
  h("leading space url", " https://cms.example/hook"),
  h("tab in url", "https://cms.exa\tmple/hook"),
  h("scheme only", "http://"),
  h("ipv6 loopback", "http://[::1]:1/x"),
];

export const HOSTILE_STRINGS: HostileString[] = [...TRAVERSAL, ...SQL, ...UNICODE, ...MISC, ...URLS];
