/** Escaping for text placed in HTML or XML (text and attribute values alike). */
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => MAP[c]!);
}

/** Escaping for element text: quotes stay readable ("Apple's", not "Apple&#39;s"). */
export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => MAP[c]!);
}
