// ChatStore: the client's state, in the spirit of the seed's ChatStore (state per
// conversation, optimistic messages keyed by optimisticId), plus what the seed lacked:
// per-conversation change numbers so that a reconnect asks for exactly what was missed.
//
// The store is plain TypeScript with no I/O: the socket and HTTP layers feed it events
// and read from it what to send. Every change replaces the objects it touches, so views
// can compare by identity.

import type {
  Attachment,
  ConnectionState,
  Conversation,
  Me,
  Message,
  MessageType,
  Space,
  SyncAck,
} from "./types";

export interface PendingUpload {
  name: string;
  size: number;
  mimeType: string;
  /** 0..1 */
  progress: number;
  previewUrl?: string;
  uploaded?: Attachment;
}

/** A message typed here and not yet confirmed by the server (status PENDING or FAILED). */
export interface PendingMessage extends Message {
  optimisticId: string;
  error?: string;
  uploads?: PendingUpload[];
}

export interface TypingUser {
  username: string;
  at: number;
}

export interface ConvState {
  /** Confirmed messages, ascending `seq`, unique by id. */
  messages: Message[];
  /** Optimistic messages in the order they were typed. */
  pending: PendingMessage[];
  /** The newest page has been fetched. */
  loaded: boolean;
  hasMoreBefore: boolean;
  loadingOlder: boolean;
  /**
   * Newer messages exist beyond the last one held: the history was opened around a
   * message (a search result, a mention), not at the newest page.
   */
  hasMoreAfter: boolean;
  loadingNewer: boolean;
  /**
   * The highest change number N such that every change numbered N or below is
   * reflected here (-1: no baseline yet). This is what `sync` sends.
   */
  seen: number;
  /** Change numbers applied beyond `seen` (a live event arrived after a gap). */
  ahead: number[];
  typing: Record<string, TypingUser>;
  /** `seq` of the first unread message when the conversation was opened. */
  firstUnreadSeq: number | null;
  /** Per other participant, the highest seq delivered to one of their devices. */
  delivered: Record<string, number>;
}

export interface ChatState {
  me: Me | null;
  conversations: Record<string, Conversation>;
  convs: Record<string, ConvState>;
  presence: Record<string, boolean>;
  spaces: Record<string, Space>;
  connection: ConnectionState;
  /** The Engine.IO transport in use ("websocket" or "polling"), when connected. */
  transport: string | null;
  activeConversation: string | null;
}

export interface Draft {
  content: string;
  type?: MessageType;
  parentMessageId?: string | null;
  mentions?: string[];
  metadata?: Record<string, unknown>;
  uploads?: PendingUpload[];
  optimisticId?: string;
}

export interface ApplyResult {
  /** The message's change number skipped one or more: a `sync` is due. */
  gap: boolean;
}

const TYPING_TTL_MS = 7000;

export function emptyConv(): ConvState {
  return {
    messages: [],
    pending: [],
    loaded: false,
    hasMoreBefore: false,
    loadingOlder: false,
    hasMoreAfter: false,
    loadingNewer: false,
    seen: -1,
    ahead: [],
    typing: {},
    firstUnreadSeq: null,
    delivered: {},
  };
}

export function initialState(): ChatState {
  return {
    me: null,
    conversations: {},
    convs: {},
    presence: {},
    spaces: {},
    connection: "offline",
    transport: null,
    activeConversation: null,
  };
}

let counter = 0;
export function newOptimisticId(): string {
  counter += 1;
  const rand =
    typeof crypto !== "undefined" && "randomUUID" in crypto
      ? crypto.randomUUID().replace(/-/g, "").slice(0, 12)
      : Math.random().toString(36).slice(2, 14);
  return `opt_${Date.now()}_${counter}_${rand}`;
}

/** Insert or replace `msg` in an ascending-by-seq list; an older copy never wins. */
export function upsertSorted(list: Message[], msg: Message): Message[] {
  const at = list.findIndex((m) => m.id === msg.id);
  if (at >= 0) {
    if ((list[at].changeSeq ?? 0) > (msg.changeSeq ?? 0)) return list;
    const next = list.slice();
    next[at] = msg;
    return next;
  }
  // Binary search for the insertion point by seq (new messages land at the end).
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].seq < msg.seq) lo = mid + 1;
    else hi = mid;
  }
  const next = list.slice();
  next.splice(lo, 0, msg);
  return next;
}

function mergeMany(list: Message[], incoming: Message[]): Message[] {
  if (list.length === 0) {
    const byId = new Map<string, Message>();
    for (const m of incoming) {
      const old = byId.get(m.id);
      if (!old || old.changeSeq <= m.changeSeq) byId.set(m.id, m);
    }
    return [...byId.values()].sort((a, b) => a.seq - b.seq);
  }
  let out = list;
  for (const m of incoming) out = upsertSorted(out, m);
  return out;
}

function activity(c: Conversation): string {
  return c.lastMessageAt ?? c.createdAt ?? "";
}

export class ChatStore {
  state: ChatState = initialState();
  private listeners = new Set<() => void>();

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(next: ChatState): void {
    this.state = next;
    for (const fn of this.listeners) fn();
  }

  private conv(id: string): ConvState {
    return this.state.convs[id] ?? emptyConv();
  }

  private patchConv(id: string, patch: Partial<ConvState>): void {
    this.set({
      ...this.state,
      convs: { ...this.state.convs, [id]: { ...this.conv(id), ...patch } },
    });
  }

  private patchConversation(id: string, patch: Partial<Conversation>): void {
    const c = this.state.conversations[id];
    if (!c) return;
    this.set({ ...this.state, conversations: { ...this.state.conversations, [id]: { ...c, ...patch } } });
  }

  reset(): void {
    this.set(initialState());
  }

  setMe(me: Me | null): void {
    this.set({ ...this.state, me });
  }

  setConnection(connection: ConnectionState): void {
    if (connection !== this.state.connection) this.set({ ...this.state, connection });
  }

  setTransport(transport: string | null): void {
    if (transport !== this.state.transport) this.set({ ...this.state, transport });
  }

  setActive(id: string | null): void {
    if (id === this.state.activeConversation) return;
    this.set({ ...this.state, activeConversation: id });
  }

  // ---- conversations -------------------------------------------------------------

  /** Merge conversations from a list or a single fetch, or an event. */
  upsertConversations(list: Conversation[]): void {
    if (list.length === 0) return;
    const conversations = { ...this.state.conversations };
    const convs = { ...this.state.convs };
    const presence = { ...this.state.presence };
    for (const incoming of list) {
      const old = conversations[incoming.id];
      let merged = incoming;
      // Keep a newer last message we already know from live events.
      if (old?.lastMessage && incoming.lastMessage && old.lastMessage.seq > incoming.lastMessage.seq) {
        merged = { ...incoming, lastMessage: old.lastMessage, lastMessageAt: old.lastMessageAt };
      }
      if (!merged.participants && old?.participants) merged = { ...merged, participants: old.participants };
      conversations[incoming.id] = merged;
      const cs = convs[incoming.id] ?? emptyConv();
      // A conversation whose messages are not loaded shows only what this object says,
      // so its number becomes the baseline. A loaded one keeps its own (sync fills it).
      if (cs.seen < 0 || !cs.loaded) {
        const seen = Math.max(cs.seen, incoming.lastSeq ?? 0);
        convs[incoming.id] = { ...cs, seen, ahead: cs.ahead.filter((n) => n > seen) };
      }
      for (const p of merged.participants ?? []) {
        if (p.user && presence[p.userId] === undefined && p.user.isOnline !== undefined) {
          presence[p.userId] = p.user.isOnline;
        }
      }
    }
    this.set({ ...this.state, conversations, convs, presence });
  }

  removeConversation(id: string): void {
    const conversations = { ...this.state.conversations };
    const convs = { ...this.state.convs };
    delete conversations[id];
    delete convs[id];
    const activeConversation = this.state.activeConversation === id ? null : this.state.activeConversation;
    this.set({ ...this.state, conversations, convs, activeConversation });
  }

  setSpaces(list: Space[]): void {
    this.set({ ...this.state, spaces: Object.fromEntries(list.map((s) => [s.id, s])) });
  }

  upsertSpace(space: Space): void {
    this.set({ ...this.state, spaces: { ...this.state.spaces, [space.id]: space } });
  }

  /** The server's count (its `unread_count` event, a read's ack, the list). */
  setUnread(conversationId: string, unreadCount: number, unreadMentions?: number): void {
    this.patchConversation(conversationId, unreadMentions === undefined ? { unreadCount } : { unreadCount, unreadMentions });
  }

  setReadMarker(conversationId: string, userId: string, seq: number, messageId?: string): void {
    const c = this.state.conversations[conversationId];
    if (!c) return;
    const participants = c.participants.map((p) =>
      p.userId === userId && seq > (p.lastReadSeq ?? 0)
        ? { ...p, lastReadSeq: seq, lastReadMessageId: messageId ?? p.lastReadMessageId }
        : p,
    );
    this.patchConversation(conversationId, { participants });
  }

  setDeliveredMarker(conversationId: string, userId: string, seq: number): void {
    const cs = this.conv(conversationId);
    if ((cs.delivered[userId] ?? 0) >= seq) return;
    this.patchConv(conversationId, { delivered: { ...cs.delivered, [userId]: seq } });
  }

  setPresence(userId: string, online: boolean): void {
    if (this.state.presence[userId] === online) return;
    this.set({ ...this.state, presence: { ...this.state.presence, [userId]: online } });
  }

  setPresenceMany(entries: Record<string, boolean>): void {
    this.set({ ...this.state, presence: { ...this.state.presence, ...entries } });
  }

  // ---- history -------------------------------------------------------------------

  /** Record what the user had not read when opening a conversation (the "new" marker). */
  markOpened(conversationId: string): void {
    const c = this.state.conversations[conversationId];
    const me = this.state.me;
    if (!c || !me) return;
    const mine = c.participants.find((p) => p.userId === me.id);
    const firstUnreadSeq = c.unreadCount > 0 && mine ? (mine.lastReadSeq ?? 0) + 1 : null;
    this.patchConv(conversationId, { firstUnreadSeq });
  }

  setLoadingOlder(conversationId: string, loadingOlder: boolean): void {
    this.patchConv(conversationId, { loadingOlder });
  }

  /** A page from GET /conversations/:id/messages: the newest one, or an older one. */
  addPage(conversationId: string, messages: Message[], hasMore: boolean, older: boolean): void {
    const cs = this.conv(conversationId);
    const merged = mergeMany(cs.messages, messages);
    const hasMoreBefore = older || !cs.loaded ? hasMore : cs.hasMoreBefore;
    let pending = cs.pending;
    const me = this.state.me;
    if (me) {
      const confirmed = new Set(messages.filter((m) => m.senderId === me.id && m.optimisticId).map((m) => m.optimisticId));
      if (confirmed.size) pending = pending.filter((p) => !confirmed.has(p.optimisticId));
    }
    this.patchConv(conversationId, {
      messages: merged,
      pending,
      loaded: true,
      hasMoreBefore,
      loadingOlder: false,
    });
  }

  setLoadingNewer(conversationId: string, loadingNewer: boolean): void {
    this.patchConv(conversationId, { loadingNewer });
  }

  /**
   * Replace the held history by one window of it: a page around a message
   * (`aroundId`), or the newest page (returning to the present). Pending messages stay.
   */
  setWindow(conversationId: string, messages: Message[], hasMoreBefore: boolean, hasMoreAfter: boolean): void {
    this.patchConv(conversationId, {
      messages: mergeMany([], messages),
      loaded: true,
      hasMoreBefore,
      hasMoreAfter,
      loadingOlder: false,
      loadingNewer: false,
    });
  }

  /** A page from `after` the newest message held (a window moving towards the present). */
  addNewerPage(conversationId: string, messages: Message[], hasMore: boolean): void {
    const cs = this.conv(conversationId);
    this.patchConv(conversationId, {
      messages: mergeMany(cs.messages, messages),
      hasMoreAfter: hasMore && messages.length > 0,
      loadingNewer: false,
    });
  }

  // ---- messages --------------------------------------------------------------------

  /**
   * Apply one message as it now is (created, edited, reacted to, deleted), from a live
   * event, an ack, or a sync. Duplicates and stale copies are ignored by change number.
   */
  applyMessage(msg: Message): ApplyResult {
    const id = msg.conversationId;
    const cs = this.conv(id);
    const me = this.state.me;
    let pending = cs.pending;
    if (me && msg.senderId === me.id && msg.optimisticId) {
      pending = pending.filter((p) => p.optimisticId !== msg.optimisticId);
    }
    const messages = outsideWindow(cs, msg) ? cs.messages : upsertSorted(cs.messages, msg);

    let seen = cs.seen;
    let ahead = cs.ahead;
    let gap = false;
    const n = msg.changeSeq;
    if (seen >= 0 && typeof n === "number") {
      if (n === seen + 1) {
        seen = n;
        const rest = ahead.filter((a) => a > seen).sort((a, b) => a - b);
        while (rest.length && rest[0] === seen + 1) seen = rest.shift() as number;
        ahead = rest;
      } else if (n > seen + 1) {
        if (!ahead.includes(n)) ahead = [...ahead, n].sort((a, b) => a - b);
        gap = true;
      }
    }

    let typing = cs.typing;
    if (typing[msg.senderId]) {
      typing = { ...typing };
      delete typing[msg.senderId];
    }

    this.set({
      ...this.state,
      convs: { ...this.state.convs, [id]: { ...cs, messages, pending, seen, ahead, typing } },
    });

    const c = this.state.conversations[id];
    if (c) {
      const patch: Partial<Conversation> = { lastSeq: Math.max(c.lastSeq ?? 0, n ?? 0) };
      const last = c.lastMessage;
      if (!last || msg.seq > last.seq || msg.id === last.id) {
        if (msg.type !== "SYSTEM" || !last || msg.seq > last.seq) patch.lastMessage = msg;
        if (!last || msg.seq > last.seq) patch.lastMessageAt = msg.createdAt;
      }
      this.patchConversation(id, patch);
    }
    return { gap };
  }

  /** Add a message typed by the user, shown at once as PENDING. */
  addPending(conversationId: string, draft: Draft): PendingMessage {
    const me = this.state.me;
    const optimisticId = draft.optimisticId ?? newOptimisticId();
    const now = new Date().toISOString();
    const msg: PendingMessage = {
      id: `pending:${optimisticId}`,
      conversationId,
      senderId: me?.id ?? "",
      sender: me ? { id: me.id, username: me.username, displayName: me.displayName, avatar: me.avatar } : null,
      type: draft.type ?? "TEXT",
      content: draft.content,
      status: "PENDING",
      seq: Number.MAX_SAFE_INTEGER,
      changeSeq: 0,
      parentMessageId: draft.parentMessageId ?? null,
      threadId: null,
      replyCount: 0,
      attachments: [],
      metadata: draft.metadata ?? {},
      mentions: draft.mentions ?? [],
      reactions: [],
      clientTimestamp: now,
      createdAt: now,
      optimisticId,
      uploads: draft.uploads,
    };
    const cs = this.conv(conversationId);
    this.patchConv(conversationId, { pending: [...cs.pending, msg] });
    return msg;
  }

  findPending(optimisticId: string): PendingMessage | undefined {
    for (const cs of Object.values(this.state.convs)) {
      const p = cs.pending.find((m) => m.optimisticId === optimisticId);
      if (p) return p;
    }
    return undefined;
  }

  /** All optimistic messages still waiting to be sent (not failed), oldest first. */
  pendingToSend(): PendingMessage[] {
    return Object.values(this.state.convs)
      .flatMap((cs) => cs.pending.filter((p) => p.status === "PENDING"))
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  private patchPending(optimisticId: string, patch: (p: PendingMessage) => PendingMessage | null): void {
    for (const [id, cs] of Object.entries(this.state.convs)) {
      const at = cs.pending.findIndex((m) => m.optimisticId === optimisticId);
      if (at < 0) continue;
      const next = patch(cs.pending[at]);
      const pending = cs.pending.slice();
      if (next) pending[at] = next;
      else pending.splice(at, 1);
      this.patchConv(id, { pending });
      return;
    }
  }

  /** `message_sent` / a successful ack: the optimistic copy becomes the stored message. */
  confirmSent(optimisticId: string, message: Message): ApplyResult {
    this.patchPending(optimisticId, () => null);
    return this.applyMessage(message);
  }

  /** `message_error` / a failed ack / a timeout: keep it, marked FAILED, for a retry. */
  failPending(optimisticId: string, error: string): void {
    this.patchPending(optimisticId, (p) => ({ ...p, status: "FAILED", error }));
  }

  /** The user asked to retry: PENDING again, same optimisticId. */
  retryPending(optimisticId: string): PendingMessage | undefined {
    this.patchPending(optimisticId, (p) => ({ ...p, status: "PENDING", error: undefined }));
    return this.findPending(optimisticId);
  }

  discardPending(optimisticId: string): void {
    this.patchPending(optimisticId, () => null);
  }

  setUploadProgress(optimisticId: string, index: number, progress: number, uploaded?: Attachment): void {
    this.patchPending(optimisticId, (p) => {
      const uploads = (p.uploads ?? []).slice();
      if (!uploads[index]) return p;
      uploads[index] = { ...uploads[index], progress, uploaded: uploaded ?? uploads[index].uploaded };
      return { ...p, uploads };
    });
  }

  // ---- typing ----------------------------------------------------------------------

  setTyping(conversationId: string, userId: string, username: string, now = Date.now()): void {
    const cs = this.conv(conversationId);
    this.patchConv(conversationId, { typing: { ...cs.typing, [userId]: { username, at: now } } });
  }

  clearTyping(conversationId: string, userId: string): void {
    const cs = this.conv(conversationId);
    if (!cs.typing[userId]) return;
    const typing = { ...cs.typing };
    delete typing[userId];
    this.patchConv(conversationId, { typing });
  }

  /** Drop typing indicators not refreshed for a while (a lost stop_typing). */
  expireTyping(now = Date.now()): void {
    for (const [id, cs] of Object.entries(this.state.convs)) {
      const stale = Object.entries(cs.typing).filter(([, t]) => now - t.at > TYPING_TTL_MS);
      if (!stale.length) continue;
      const typing = { ...cs.typing };
      for (const [uid] of stale) delete typing[uid];
      this.patchConv(id, { typing });
    }
  }

  // ---- resume ----------------------------------------------------------------------

  /** The `sync` payload: per conversation, the number up to which we have everything. */
  syncRequest(only?: string[]): Record<string, number> {
    const out: Record<string, number> = {};
    const ids = only ?? Object.keys(this.state.conversations);
    for (const id of ids) {
      const cs = this.state.convs[id];
      if (cs && cs.seen >= 0) out[id] = cs.seen;
    }
    return out;
  }

  /**
   * Apply a `sync` ack. Returns the conversations that have more changes to fetch
   * (send `sync` again for those).
   */
  applySync(ack: SyncAck): string[] {
    const more: string[] = [];
    for (const id of ack.removed ?? []) this.removeConversation(id);
    for (const [id, entry] of Object.entries(ack.conversations ?? {})) {
      for (const m of entry.changes) this.applyMessage(m);
      const cs = this.conv(id);
      const highest = entry.changes.reduce((acc, m) => Math.max(acc, m.changeSeq), entry.lastSeq ?? 0);
      const seen = Math.max(cs.seen, highest);
      this.patchConv(id, { seen, ahead: cs.ahead.filter((n) => n > seen) });
      if (entry.hasMore) more.push(id);
    }
    return more;
  }

  hasGap(conversationId: string): boolean {
    return this.conv(conversationId).ahead.length > 0;
  }
}

// ---- selectors ---------------------------------------------------------------------

/**
 * A message that falls in history not held, beyond either end of a window (a gap the
 * pages will fill when the user scrolls there): it is not inserted, or the list would
 * show it next to messages it does not follow.
 */
export function outsideWindow(cs: ConvState, msg: Message): boolean {
  const list = cs.messages;
  if (!list.length || list.some((m) => m.id === msg.id)) return false;
  if (cs.hasMoreAfter && msg.seq > list[list.length - 1].seq) return true;
  return cs.hasMoreBefore && msg.seq < list[0].seq;
}

export function sortedConversations(
  state: ChatState,
  filter: { archived?: boolean; spaceId?: string | null } = {},
): Conversation[] {
  return Object.values(state.conversations)
    .filter((c) => (filter.archived === undefined ? true : Boolean(c.isArchived) === filter.archived))
    .filter((c) => (filter.spaceId === undefined ? true : (c.spaceId ?? null) === filter.spaceId))
    .sort((a, b) => (activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : 0));
}

export function displayName(u: { username: string; displayName?: string | null } | null | undefined): string {
  if (!u) return "someone";
  return u.displayName || u.username;
}

export function otherParticipant(c: Conversation, meId: string | undefined) {
  return c.participants.find((p) => p.userId !== meId);
}

export function conversationTitle(c: Conversation, meId: string | undefined): string {
  if (c.type === "PRIVATE") {
    const other = otherParticipant(c, meId);
    return other?.user ? displayName(other.user) : c.name || "Private chat";
  }
  return c.name || "Untitled";
}

/** Names of the other participants who have read `msg` (their read marker reached it). */
export function seenBy(c: Conversation, msg: Message, meId: string | undefined): string[] {
  return c.participants
    .filter((p) => p.userId !== meId && p.status !== "LEFT" && p.status !== "REMOVED")
    .filter((p) => (p.lastReadSeq ?? 0) >= msg.seq)
    .map((p) => (p.user ? displayName(p.user) : p.userId.slice(0, 8)));
}
