// Turn a conversation's messages into the rows the chat view shows: day separators,
// a "new messages" marker before the first unread message, and the messages.

import type { Message } from "./types";

export type Row =
  | { kind: "day"; key: string; label: string }
  | { kind: "new"; key: string }
  | { kind: "msg"; key: string; msg: Message; grouped: boolean };

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayLabel(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const that = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const days = Math.round((today.getTime() - that.getTime()) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString(undefined, {
    weekday: days < 7 ? "long" : undefined,
    day: "numeric",
    month: "long",
    year: sameYear ? undefined : "numeric",
  });
}

const GROUP_WINDOW_MS = 5 * 60 * 1000;

export function buildRows(
  messages: Message[],
  pending: Message[],
  opts: { firstUnreadSeq: number | null; meId?: string; now?: Date },
): Row[] {
  const rows: Row[] = [];
  let lastDay = "";
  let prev: Message | null = null;
  let markerPlaced = false;
  const all = pending.length ? messages.concat(pending) : messages;
  for (const msg of all) {
    const day = dayKey(msg.createdAt);
    if (day !== lastDay) {
      rows.push({ kind: "day", key: `day:${day}`, label: dayLabel(msg.createdAt, opts.now) });
      lastDay = day;
      prev = null;
    }
    if (
      !markerPlaced &&
      opts.firstUnreadSeq !== null &&
      msg.seq >= opts.firstUnreadSeq &&
      msg.senderId !== opts.meId &&
      msg.type !== "SYSTEM" &&
      !msg.id.startsWith("pending:")
    ) {
      rows.push({ kind: "new", key: "new-marker" });
      markerPlaced = true;
      prev = null;
    }
    const grouped =
      prev !== null &&
      prev.senderId === msg.senderId &&
      prev.type !== "SYSTEM" &&
      msg.type !== "SYSTEM" &&
      new Date(msg.createdAt).getTime() - new Date(prev.createdAt).getTime() < GROUP_WINDOW_MS;
    rows.push({ kind: "msg", key: msg.id, msg, grouped });
    prev = msg;
  }
  return rows;
}

// ---- text ------------------------------------------------------------------------------

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "link"; text: string; href: string }
  | { kind: "mention"; text: string; userId: string | null };

const LINK = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/gi;

/**
 * Split message text into plain text, links (http/https only) and @mentions. The
 * result is rendered with text nodes only; nothing here is ever parsed as HTML.
 */
export function segment(text: string, usernames: Record<string, string> = {}): Segment[] {
  const out: Segment[] = [];
  const pushText = (t: string) => {
    if (!t) return;
    // mentions inside plain text
    const re = /(^|[^\w@])@([A-Za-z0-9_.-]{3,50})/g;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(t))) {
      const start = m.index + m[1].length;
      const name = m[2].replace(/[.-]+$/, "");
      const userId = usernames[name.toLowerCase()] ?? null;
      if (userId === null && name.toLowerCase() !== "all") continue;
      if (start > last) out.push({ kind: "text", text: t.slice(last, start) });
      out.push({ kind: "mention", text: `@${name}`, userId });
      last = start + 1 + name.length;
    }
    if (last < t.length) out.push({ kind: "text", text: t.slice(last) });
  };
  let last = 0;
  for (const m of text.matchAll(LINK)) {
    const start = m.index ?? 0;
    pushText(text.slice(last, start));
    out.push({ kind: "link", text: m[0], href: m[0] });
    last = start + m[0].length;
  }
  pushText(text.slice(last));
  return out;
}

/** Ids of the participants whose @username appears in the text. */
export function mentionedIds(text: string, usernames: Record<string, string>): string[] {
  const ids = new Set<string>();
  for (const s of segment(text, usernames)) if (s.kind === "mention" && s.userId) ids.add(s.userId);
  return [...ids];
}
