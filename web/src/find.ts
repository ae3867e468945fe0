// Pure helpers for search results: the words of a query, the part of a long message
// around its first match (its context), and that text cut into matching and other parts
// for highlighting. The server matches every word of the query (docs/http-api.md).

export interface Part {
  text: string;
  hit: boolean;
}

/** The distinct words of a query, longest first (so "chat" wins over "c" when both match). */
export function queryWords(query: string): string[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

/**
 * The text around the first matching word: up to `radius` characters either side, cut
 * at spaces where it can, with "…" where something was left off. Short texts are whole.
 */
export function excerpt(text: string, query: string, radius = 60): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= radius * 2) return flat;
  const lower = flat.toLowerCase();
  const hits = queryWords(query)
    .map((w) => lower.indexOf(w))
    .filter((i) => i >= 0);
  const at = hits.length ? Math.min(...hits) : 0;
  let start = Math.max(0, at - radius);
  let end = Math.min(flat.length, at + radius);
  if (start > 0) {
    const space = flat.indexOf(" ", start);
    if (space >= 0 && space < at) start = space + 1;
  }
  if (end < flat.length) {
    const space = flat.lastIndexOf(" ", end);
    if (space > at) end = space;
  }
  return `${start > 0 ? "…" : ""}${flat.slice(start, end)}${end < flat.length ? "…" : ""}`;
}

/** `text` cut into parts, each either a match of one of the query's words or not. */
export function highlight(text: string, query: string): Part[] {
  const words = queryWords(query);
  if (!words.length || !text) return text ? [{ text, hit: false }] : [];
  const lower = text.toLowerCase();
  const parts: Part[] = [];
  let plain = 0;
  let i = 0;
  while (i < text.length) {
    const word = words.find((w) => lower.startsWith(w, i));
    if (!word) {
      i += 1;
      continue;
    }
    if (i > plain) parts.push({ text: text.slice(plain, i), hit: false });
    parts.push({ text: text.slice(i, i + word.length), hit: true });
    i += word.length;
    plain = i;
  }
  if (plain < text.length) parts.push({ text: text.slice(plain), hit: false });
  return parts;
}
