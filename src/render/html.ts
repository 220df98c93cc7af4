/** Escaping for text placed in HTML or XML. */
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escaping for element text: quotes stay readable ("Apple's", not "Apple&#39;s"). */
export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => MAP[c]!);
}
