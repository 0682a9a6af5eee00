/**
 * Percent-encoding of any JS string, also one with lone surrogates (which `encodeURIComponent` throws on):
 * a lone surrogate becomes its three WTF-8 bytes (`%ED%A0%80` for U+D800), invalid UTF-8 the server must
 * cope with.
 */
export function encodeLoose(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[^\uD800-\uDFFF]+|[\uD800-\uDBFF][\uDC00-\uDFFF]/g, (part) => {
    const code = part.charCodeAt(0);
    if (part.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      const bytes = [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
      return bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join("");
    }
    return encodeURIComponent(part);
  });
}
