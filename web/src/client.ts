// ChatClient: the SocketService and the HTTP calls of the seed, wired to the ChatStore.
// Socket.IO namespace /messaging, websocket first with a fallback to polling; after every
// (re)connect it sends `sync` with the per-conversation change numbers and applies
// exactly what was missed, then re-sends messages still waiting.

import { io, type Socket } from "socket.io-client";
import { Api } from "./api";
import { type NotificationEvent, showNotification } from "./notify";
import { ChatStore, type Draft, type PendingMessage, type PendingUpload } from "./store";
import type {
  AckError,
  Attachment,
  Conversation,
  Me,
  Mention,
  Message,
  Participant,
  Reaction,
  Role,
  Space,
  SyncAck,
  User,
} from "./types";

const SEND_TIMEOUT_MS = 15000;
const TYPING_REFRESH_MS = 2500;
const PAGE = 50;
const MAX_AUTO_RETRIES = 3;

interface Ack {
  ok: boolean;
  error?: AckError;
  [key: string]: unknown;
}

export class ChatClient {
  readonly store = new ChatStore();
  socket: Socket | null = null;
  private attempts = new Map<string, number>();
  private autoRetries = new Map<string, number>();
  private files = new Map<string, Blob[]>();
  private typingSent = new Map<string, number>();
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private syncing: Promise<void> | null = null;
  private typingSweep: ReturnType<typeof setInterval> | null = null;
  private started = false;
  private readonly onOffline = () => this.goOffline();
  private readonly onOnline = () => this.goOnline();
  private readonly onVisible = () => {
    const id = this.store.state.activeConversation;
    if (id && document.visibilityState === "visible") this.markRead(id);
  };

  constructor(readonly api: Api) {}

  get me(): Me | null {
    return this.store.state.me;
  }

  // ---- lifecycle -------------------------------------------------------------------

  async start(me: Me): Promise<void> {
    this.store.setMe(me);
    this.started = true;
    await Promise.all([this.loadConversations(), this.loadSpaces()]);
    this.connect();
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.typingSweep = setInterval(() => this.store.expireTyping(), 2000);
  }

  stop(): void {
    this.started = false;
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onVisible);
    if (this.typingSweep) clearInterval(this.typingSweep);
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.store.reset();
  }

  async logout(): Promise<void> {
    this.socket?.disconnect();
    await this.api.logout();
    this.stop();
  }

  private connect(): void {
    const socket = io("/messaging", {
      auth: (cb) => cb({ token: this.api.accessToken ?? "", userId: this.me?.id }),
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      timeout: 8000,
    });
    this.socket = socket;
    this.store.setConnection("connecting");

    socket.on("connect", () => {
      this.attempts.clear();
      const engine = socket.io.engine;
      this.store.setTransport(engine.transport.name);
      engine.once("upgrade", (t: { name: string }) => this.store.setTransport(t.name));
      this.store.setConnection("syncing");
      void this.afterConnect();
    });
    socket.on("disconnect", (reason) => {
      console.info("hubbub: disconnected:", reason);
      this.attempts.clear();
      this.store.setTransport(null);
      this.store.setConnection(reason === "io client disconnect" ? "offline" : "reconnecting");
      // The server cut this socket: the session may have ended (signed out elsewhere, a
      // password change, a deactivation). A refresh tells: refused, the app signs out
      // (Api.onSessionEnded); granted, connect again (Socket.IO does not after this).
      if (reason === "io server disconnect") {
        this.api
          .refresh()
          .then(() => this.started && socket.connect())
          .catch(() => this.store.setConnection("offline"));
      }
    });
    socket.on("connect_error", (err: Error) => {
      // A WebSocket that errors falls back to polling at once (tryAllTransports); one that
      // is silently dropped (a proxy) only times out: then start with polling, which
      // still upgrades to WebSocket when it can.
      const opts = socket.io.opts;
      if (err.message !== "unauthorized" && navigator.onLine !== false && opts.transports?.[0] === "websocket") {
        opts.transports = ["polling", "websocket"];
      }
      if (err.message === "unauthorized") {
        // The access token expired or was revoked: refresh, then try again.
        this.api
          .refresh()
          .then(() => socket.connect())
          .catch(() => this.store.setConnection("offline"));
        return;
      }
      this.store.setConnection(navigator.onLine === false ? "offline" : "reconnecting");
    });

    socket.on("new_message", (e: { message: Message }) => this.onMessage(e.message, true));
    socket.on("notification", (e: NotificationEvent) =>
      void showNotification(e).catch((err: unknown) => console.warn("hubbub: notification not shown", err)),
    );
    socket.on("message_updated", (e: { message: Message }) => this.onMessage(e.message, false));
    socket.on("message_deleted", (e: { message: Message }) => this.onMessage(e.message, false));
    socket.on("message_sent", (e: { optimisticId: string; message: Message }) => {
      if (e?.message) this.afterApply(this.store.confirmSent(e.optimisticId, e.message).gap, e.message.conversationId);
    });
    socket.on("message_error", (e: { optimisticId: string; error?: AckError }) => {
      if (e?.optimisticId) this.sendFailed(e.optimisticId, e.error);
    });
    socket.on("typing", (e: { conversationId: string; userId: string; username: string }) => {
      if (e.userId !== this.me?.id) this.store.setTyping(e.conversationId, e.userId, e.username);
    });
    socket.on("stop_typing", (e: { conversationId: string; userId: string }) =>
      this.store.clearTyping(e.conversationId, e.userId),
    );
    socket.on("messages_read", (e: { conversationId: string; userId: string; messageId: string; seq: number }) =>
      this.store.setReadMarker(e.conversationId, e.userId, e.seq, e.messageId),
    );
    socket.on("messages_delivered", (e: { conversationId: string; userId: string; seq: number }) =>
      this.store.setDeliveredMarker(e.conversationId, e.userId, e.seq),
    );
    socket.on("unread_count", (e: { conversationId: string; unreadCount: number; unreadMentions?: number }) =>
      this.store.setUnread(e.conversationId, e.unreadCount, e.unreadMentions),
    );
    socket.on("user_online", (e: { userId: string }) => this.store.setPresence(e.userId, true));
    socket.on("user_offline", (e: { userId: string }) => this.store.setPresence(e.userId, false));
    socket.on("user_updated", (e: { user: User }) => this.onUserUpdated(e.user));
    socket.on("conversation_created", (e: { conversation: Conversation }) =>
      this.store.upsertConversations([e.conversation]),
    );
    socket.on("conversation_updated", (e: { conversation: Conversation }) =>
      this.store.upsertConversations([e.conversation]),
    );
    socket.on("participant_added", (e: { conversationId: string }) => void this.refreshConversation(e.conversationId));
    socket.on("participant_removed", (e: { conversationId: string; userId: string }) => {
      if (e.userId === this.me?.id) this.store.removeConversation(e.conversationId);
      else void this.refreshConversation(e.conversationId);
    });
    socket.on("exception", (e: unknown) => console.warn("hubbub: server refused an event", e));
  }

  private goOffline(): void {
    if (!this.socket) return;
    this.socket.disconnect();
    this.store.setConnection("offline");
  }

  private goOnline(): void {
    if (!this.socket || this.socket.connected) return;
    this.store.setConnection("connecting");
    this.socket.connect();
  }

  /** Reconnect by hand (the connection pill's button). */
  reconnect(): void {
    this.goOnline();
  }

  private async afterConnect(): Promise<void> {
    try {
      await this.syncAll();
      await this.loadConversations();
      for (const p of this.store.pendingToSend()) void this.emitSend(p);
      await this.refreshPresence();
      const active = this.store.state.activeConversation;
      if (active) this.markRead(active);
    } catch (err) {
      console.warn("hubbub: resume failed", err);
    } finally {
      if (this.socket?.connected) this.store.setConnection("online");
    }
  }

  private emitAck<T extends Ack>(event: string, payload: unknown, timeout = 10000): Promise<T> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.reject(new Error("not connected"));
    return new Promise((resolve, reject) => {
      socket.timeout(timeout).emit(event, payload, (err: Error | null, ack: T) => {
        if (err) reject(err);
        else resolve(ack);
      });
    });
  }

  // ---- resume ----------------------------------------------------------------------

  /** `sync` every known conversation, paging on until nothing more is missing. */
  syncAll(only?: string[]): Promise<void> {
    if (this.syncing) return this.syncing.then(() => this.syncAll(only));
    const run = async () => {
      let request = this.store.syncRequest(only);
      while (Object.keys(request).length) {
        const ack = await this.emitAck<SyncAck & Ack>("sync", { conversations: request, limit: 100 });
        if (!ack.ok) throw new Error(ack.error?.message ?? "sync refused");
        const more = this.store.applySync(ack);
        request = more.length ? this.store.syncRequest(more) : {};
      }
    };
    this.syncing = run().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private afterApply(gap: boolean, conversationId: string): void {
    if (!gap) return;
    // A live event skipped a number: fetch what is between (debounced).
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.store.hasGap(conversationId)) void this.syncAll([conversationId]).catch(() => {});
    }, 300);
  }

  private onMessage(message: Message, isNew: boolean): void {
    if (!message?.conversationId) return;
    const known = Boolean(this.store.state.conversations[message.conversationId]);
    const { gap } = this.store.applyMessage(message);
    if (!known) {
      void this.refreshConversation(message.conversationId);
      return;
    }
    this.afterApply(gap, message.conversationId);
    if (!isNew || message.senderId === this.me?.id || message.type === "SYSTEM") return;
    const reading =
      message.conversationId === this.store.state.activeConversation && document.visibilityState !== "hidden";
    // Counts are the server's: `unread_count` follows every change to one (never counted here).
    if (reading) this.markRead(message.conversationId);
    else this.socket?.emit("mark_as_delivered", { conversationId: message.conversationId, messageId: message.id });
  }

  private onUserUpdated(user: User): void {
    const { conversations, me } = this.store.state;
    if (me && user.id === me.id) this.store.setMe({ ...me, ...user });
    const changed: Conversation[] = [];
    for (const c of Object.values(conversations)) {
      if (!c.participants.some((p) => p.userId === user.id)) continue;
      changed.push({
        ...c,
        participants: c.participants.map((p) => (p.userId === user.id ? { ...p, user: { ...p.user, ...user } } : p)),
      });
    }
    this.store.upsertConversations(changed);
  }

  // ---- loading ---------------------------------------------------------------------

  async loadConversations(): Promise<void> {
    const [active, archived] = await Promise.all([this.listAll(false), this.listAll(true)]);
    this.store.upsertConversations([...active, ...archived]);
  }

  /** Every conversation of the list (pages of 100 by the `before` cursor, 20 pages at most). */
  private async listAll(archived: boolean): Promise<Conversation[]> {
    const out: Conversation[] = [];
    let before: string | null = null;
    for (let page = 0; page < 20; page++) {
      const q: string = `/conversations?limit=100${archived ? "&archived=true" : ""}${before ? `&before=${encodeURIComponent(before)}` : ""}`;
      const { conversations, total } = await this.api.get<{ conversations: Conversation[]; total?: number }>(q);
      out.push(...conversations);
      const last = conversations[conversations.length - 1];
      if (conversations.length < 100 || (total !== undefined && out.length >= total) || !last?.lastMessageAt) break;
      before = last.lastMessageAt;
    }
    return out;
  }

  async loadSpaces(): Promise<void> {
    try {
      const { spaces } = await this.api.get<{ spaces: Space[] }>("/spaces");
      this.store.setSpaces(spaces);
    } catch {
      this.store.setSpaces([]);
    }
  }

  async refreshConversation(id: string): Promise<Conversation | null> {
    try {
      const { conversation } = await this.api.get<{ conversation: Conversation }>(`/conversations/${id}`);
      this.store.upsertConversations([conversation]);
      return conversation;
    } catch {
      return null;
    }
  }

  private async refreshPresence(): Promise<void> {
    const ids = new Set<string>();
    for (const c of Object.values(this.store.state.conversations))
      for (const p of c.participants) if (p.userId !== this.me?.id) ids.add(p.userId);
    if (!ids.size) return;
    try {
      const ack = await this.emitAck<Ack & { presence?: Record<string, { isOnline: boolean }> }>("get_presence", {
        userIds: [...ids].slice(0, 500),
      });
      if (ack.ok && ack.presence) {
        this.store.setPresenceMany(Object.fromEntries(Object.entries(ack.presence).map(([k, v]) => [k, v.isOnline])));
      }
    } catch {
      // presence is a nicety
    }
  }

  /** Open a conversation: at its newest page, or around `messageId` (a search result). */
  async open(id: string, messageId?: string): Promise<void> {
    this.store.setActive(id);
    if (!this.store.state.conversations[id]) await this.refreshConversation(id);
    this.store.markOpened(id);
    const cs = this.store.state.convs[id];
    if (messageId && !cs?.messages.some((m) => m.id === messageId)) await this.openAround(id, messageId);
    else if (!cs?.loaded) {
      const page = await this.api.get<{ messages: Message[]; hasMore: boolean }>(
        `/conversations/${id}/messages?limit=${PAGE}`,
      );
      this.store.addPage(id, page.messages, page.hasMore, false);
    }
    this.markRead(id);
  }

  /**
   * Hold the page around one message (`aroundId`). Its single `hasMore` speaks for both
   * sides, so the side towards the present is told by the conversation's last message.
   */
  private async openAround(id: string, messageId: string): Promise<void> {
    const page = await this.api.get<{ messages: Message[]; hasMore: boolean }>(
      `/conversations/${id}/messages?limit=${PAGE}&aroundId=${encodeURIComponent(messageId)}`,
    );
    const newest = page.messages[page.messages.length - 1];
    const last = this.store.state.conversations[id]?.lastMessage;
    const after = Boolean(newest && (last ? last.seq > newest.seq : page.hasMore));
    this.store.setWindow(id, page.messages, page.hasMore, after);
  }

  /** Back to the present: the newest page replaces a window opened around a message. */
  async jumpToNewest(id: string): Promise<void> {
    const page = await this.api.get<{ messages: Message[]; hasMore: boolean }>(
      `/conversations/${id}/messages?limit=${PAGE}`,
    );
    this.store.setWindow(id, page.messages, page.hasMore, false);
    this.markRead(id);
  }

  async loadNewer(id: string): Promise<void> {
    const cs = this.store.state.convs[id];
    const newest = cs?.messages[cs.messages.length - 1];
    if (!cs || !newest || !cs.hasMoreAfter || cs.loadingNewer) return;
    this.store.setLoadingNewer(id, true);
    try {
      const page = await this.api.get<{ messages: Message[]; hasMore: boolean }>(
        `/conversations/${id}/messages?limit=${PAGE}&after=${encodeURIComponent(newest.id)}`,
      );
      this.store.addNewerPage(id, page.messages, page.hasMore);
    } catch {
      this.store.setLoadingNewer(id, false);
    }
  }

  /** A page of `GET /search/messages` (every word of `q`, newest first). */
  search(q: string, before?: string): Promise<{ messages: Message[]; hasMore: boolean }> {
    const more = before ? `&before=${encodeURIComponent(before)}` : "";
    return this.api.get(`/search/messages?q=${encodeURIComponent(q)}&limit=20${more}`);
  }

  /** A page of `GET /mentions` (newest first). */
  mentions(cursor?: string | null): Promise<{ mentions: Mention[]; nextCursor: string | null }> {
    const more = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    return this.api.get(`/mentions?limit=20${more}`);
  }

  close(): void {
    this.store.setActive(null);
  }

  async loadOlder(id: string): Promise<void> {
    const cs = this.store.state.convs[id];
    if (!cs || !cs.loaded || !cs.hasMoreBefore || cs.loadingOlder) return;
    const oldest = cs.messages[0];
    if (!oldest) return;
    this.store.setLoadingOlder(id, true);
    try {
      const page = await this.api.get<{ messages: Message[]; hasMore: boolean }>(
        `/conversations/${id}/messages?limit=${PAGE}&before=${encodeURIComponent(oldest.id)}`,
      );
      this.store.addPage(id, page.messages, page.hasMore, true);
    } catch {
      this.store.setLoadingOlder(id, false);
    }
  }

  async thread(conversationId: string, messageId: string): Promise<Message[]> {
    const out: Message[] = [];
    let after: string | undefined;
    for (let i = 0; i < 20; i++) {
      const q = after ? `&after=${encodeURIComponent(after)}` : "";
      const page = await this.api.get<{ messages: Message[]; hasMore: boolean }>(
        `/conversations/${conversationId}/messages/${messageId}/thread?limit=100${q}`,
      );
      out.push(...page.messages);
      if (!page.hasMore || !page.messages.length) break;
      after = page.messages[page.messages.length - 1].id;
    }
    return out;
  }

  // ---- reading ---------------------------------------------------------------------

  markRead(conversationId: string): void {
    if (typeof document !== "undefined" && document.visibilityState === "hidden") return;
    const { convs, conversations, me } = this.store.state;
    const c = conversations[conversationId];
    const cs = convs[conversationId];
    if (!c || !cs || !me || !this.socket?.connected) return;
    const mine = c.participants.find((p) => p.userId === me.id);
    const newest = cs.messages[cs.messages.length - 1];
    if (!newest || (mine && (mine.lastReadSeq ?? 0) >= newest.seq && c.unreadCount === 0)) return;
    this.emitAck<Ack & { unreadCount?: number; lastReadSeq?: number }>("mark_as_read", {
      conversationId,
      messageId: newest.id,
    })
      .then((ack) => {
        if (!ack.ok) return;
        if (typeof ack.unreadCount === "number") this.store.setUnread(conversationId, ack.unreadCount);
        this.store.setReadMarker(conversationId, me.id, ack.lastReadSeq ?? newest.seq, newest.id);
      })
      .catch(() => {});
  }

  typing(conversationId: string): void {
    const last = this.typingSent.get(conversationId) ?? 0;
    if (Date.now() - last < TYPING_REFRESH_MS || !this.socket?.connected) return;
    this.typingSent.set(conversationId, Date.now());
    this.socket.emit("typing", { conversationId });
  }

  stopTyping(conversationId: string): void {
    if (!this.typingSent.has(conversationId)) return;
    this.typingSent.delete(conversationId);
    this.socket?.emit("stop_typing", { conversationId });
  }

  // ---- sending ---------------------------------------------------------------------

  /** Show the message at once (PENDING), upload its files, then send it. */
  send(conversationId: string, draft: Draft, files: Blob[] = []): PendingMessage {
    this.typingSent.delete(conversationId);
    const uploads: PendingUpload[] = files.map((f) => ({
      name: f instanceof File ? f.name : "file",
      size: f.size,
      mimeType: f.type,
      progress: 0,
      previewUrl: f.type.startsWith("image/") ? URL.createObjectURL(f) : undefined,
    }));
    const pending = this.store.addPending(conversationId, { ...draft, uploads: uploads.length ? uploads : undefined });
    if (files.length) this.files.set(pending.optimisticId, files);
    void this.emitSend(pending);
    return pending;
  }

  /** Retry a failed message with its original optimisticId (never stored twice). */
  retry(optimisticId: string): void {
    this.autoRetries.delete(optimisticId);
    const p = this.store.retryPending(optimisticId);
    if (p) void this.emitSend(p);
  }

  discard(optimisticId: string): void {
    this.files.delete(optimisticId);
    this.store.discardPending(optimisticId);
  }

  private async uploadAll(p: PendingMessage): Promise<Attachment[]> {
    const files = this.files.get(p.optimisticId) ?? [];
    const out: Attachment[] = [];
    for (let i = 0; i < (p.uploads ?? []).length; i++) {
      const current = this.store.findPending(p.optimisticId)?.uploads?.[i];
      if (current?.uploaded) {
        out.push(current.uploaded);
        continue;
      }
      const file = files[i];
      if (!file) throw new Error("The file is no longer available; attach it again");
      const up = await this.api.upload(file, p.uploads?.[i]?.name ?? "file", (f) =>
        this.store.setUploadProgress(p.optimisticId, i, f),
      );
      const att: Attachment = { ...up };
      this.store.setUploadProgress(p.optimisticId, i, 1, att);
      out.push(att);
    }
    return out;
  }

  private async emitSend(p: PendingMessage): Promise<void> {
    const attempt = (this.attempts.get(p.optimisticId) ?? 0) + 1;
    this.attempts.set(p.optimisticId, attempt);
    let attachments: Attachment[] = [];
    try {
      if (p.uploads?.length) attachments = await this.uploadAll(p);
    } catch (err) {
      this.store.failPending(p.optimisticId, err instanceof Error ? err.message : "Upload failed");
      return;
    }
    const socket = this.socket;
    // Not connected: it stays PENDING and goes out after the next connect.
    if (!socket?.connected) {
      this.attempts.delete(p.optimisticId);
      return;
    }
    const payload: Record<string, unknown> = {
      conversationId: p.conversationId,
      content: p.content,
      type: attachments.length && p.type === "TEXT" ? (attachments.every((a) => a.mimeType.startsWith("image/")) ? "IMAGE" : "FILE") : p.type,
      optimisticId: p.optimisticId,
      clientTimestamp: p.clientTimestamp,
    };
    if (p.parentMessageId) payload.parentMessageId = p.parentMessageId;
    if (p.mentions?.length) payload.mentions = p.mentions;
    if (p.metadata && Object.keys(p.metadata).length) payload.metadata = p.metadata;
    if (attachments.length) payload.attachments = attachments.map((a) => a.id);
    socket.timeout(SEND_TIMEOUT_MS).emit("send_message", payload, (err: Error | null, ack: Ack & { message?: Message }) => {
      if (this.attempts.get(p.optimisticId) !== attempt) return; // a newer attempt owns it
      this.attempts.delete(p.optimisticId);
      if (err) {
        // No answer: if the connection dropped, the resend after reconnect handles it.
        if (socket.connected && this.store.findPending(p.optimisticId)) this.store.failPending(p.optimisticId, "No answer from the server");
        return;
      }
      if (ack?.ok && ack.message) {
        this.files.delete(p.optimisticId);
        this.afterApply(this.store.confirmSent(p.optimisticId, ack.message).gap, p.conversationId);
      } else if (ack && !ack.ok) {
        this.sendFailed(p.optimisticId, ack.error);
      }
    });
  }

  /**
   * A refused send: a transient refusal (rate limited, storage unavailable) is retried
   * by itself a few times with the same optimisticId; anything else waits for the user.
   */
  private sendFailed(optimisticId: string, error: AckError | undefined): void {
    const p = this.store.findPending(optimisticId);
    if (!p) return;
    const tries = (this.autoRetries.get(optimisticId) ?? 0) + 1;
    const transient = error?.code === "rate_limited" || error?.code === "unavailable";
    if (transient && tries <= MAX_AUTO_RETRIES) {
      this.autoRetries.set(optimisticId, tries);
      const wait = error?.retryAfter ? error.retryAfter * 1000 : 500 * 2 ** tries;
      setTimeout(() => {
        const still = this.store.findPending(optimisticId);
        if (still && still.status === "PENDING") void this.emitSend(still);
      }, wait);
      return;
    }
    this.autoRetries.delete(optimisticId);
    this.store.failPending(optimisticId, error?.message ?? "Not sent");
  }

  // ---- changing messages -----------------------------------------------------------

  async edit(conversationId: string, messageId: string, content: string): Promise<void> {
    const { message } = await this.api.patch<{ message: Message }>(`/conversations/${conversationId}/messages/${messageId}`, {
      content,
    });
    this.onMessage(message, false);
  }

  async remove(conversationId: string, messageId: string): Promise<void> {
    const { message } = await this.api.del<{ message: Message }>(`/conversations/${conversationId}/messages/${messageId}`);
    this.onMessage(message, false);
  }

  async react(conversationId: string, message: Message, emoji: string): Promise<void> {
    const mine = message.reactions?.find((r) => r.emoji === emoji)?.userIds.includes(this.me?.id ?? "");
    const path = `/conversations/${conversationId}/messages/${message.id}/reactions`;
    const { reactions } = mine
      ? await this.api.del<{ reactions: Reaction[] }>(`${path}/${encodeURIComponent(emoji)}`)
      : await this.api.post<{ reactions: Reaction[] }>(path, { emoji });
    // The message_updated event brings the authoritative copy; show this one meanwhile.
    const current = this.store.state.convs[conversationId]?.messages.find((m) => m.id === message.id);
    if (current) this.store.applyMessage({ ...current, reactions });
  }

  // ---- profile ---------------------------------------------------------------------

  async updateProfile(body: { displayName?: string; bio?: string; avatar?: string }): Promise<void> {
    const { user } = await this.api.put<{ user: Me }>("/users/me", body);
    this.store.setMe(user);
  }

  async uploadAvatar(file: File, onProgress: (f: number) => void): Promise<void> {
    const up = await this.api.upload(file, file.name, onProgress, false, "avatar");
    await this.updateProfile({ avatar: up.url });
  }

  // ---- conversations, groups, spaces -----------------------------------------------

  async searchUsers(q: string): Promise<User[]> {
    if (!q.trim()) return [];
    const { users } = await this.api.get<{ users: User[] }>(`/users/search?q=${encodeURIComponent(q.trim())}&limit=20`);
    return users.filter((u) => u.id !== this.me?.id);
  }

  async createConversation(body: {
    type: "PRIVATE" | "GROUP" | "SPACE";
    participantIds: string[];
    name?: string;
    spaceId?: string;
  }): Promise<Conversation> {
    const { conversation } = await this.api.post<{ conversation: Conversation }>("/conversations", body);
    this.store.upsertConversations([conversation]);
    return conversation;
  }

  async settings(
    id: string,
    body: {
      notificationsEnabled?: boolean;
      isArchived?: boolean;
      notificationLevel?: "all" | "mentions" | "nothing" | null;
      mutedUntil?: string | null;
    },
  ): Promise<void> {
    const { conversation } = await this.api.put<{ conversation: Conversation }>(`/conversations/${id}/settings`, body);
    this.store.upsertConversations([conversation]);
  }

  async rename(id: string, name: string): Promise<void> {
    const { conversation } = await this.api.patch<{ conversation: Conversation }>(`/conversations/${id}`, { name });
    this.store.upsertConversations([conversation]);
  }

  async addMembers(id: string, userIds: string[]): Promise<void> {
    const { conversation } = await this.api.post<{ conversation: Conversation }>(`/conversations/${id}/participants`, {
      userIds,
    });
    this.store.upsertConversations([conversation]);
  }

  async setRole(id: string, userId: string, role: Role): Promise<void> {
    await this.api.patch<{ participant: Participant }>(`/conversations/${id}/participants/${userId}`, { role });
    await this.refreshConversation(id);
  }

  async removeMember(id: string, userId: string): Promise<void> {
    await this.api.del(`/conversations/${id}/participants/${userId}`);
    if (userId === this.me?.id) this.store.removeConversation(id);
    else await this.refreshConversation(id);
  }

  async createSpace(name: string, description?: string): Promise<Space> {
    const { space } = await this.api.post<{ space: Space }>("/spaces", description ? { name, description } : { name });
    this.store.upsertSpace(space);
    return space;
  }

  async spaceConversations(spaceId: string): Promise<Conversation[]> {
    const { conversations } = await this.api.get<{ conversations: Conversation[] }>(`/spaces/${spaceId}/conversations`);
    this.store.upsertConversations(conversations);
    return conversations;
  }

  async addSpaceMembers(spaceId: string, userIds: string[]): Promise<void> {
    const { space } = await this.api.post<{ space: Space }>(`/spaces/${spaceId}/members`, { userIds });
    this.store.upsertSpace(space);
  }

  async leaveSpace(spaceId: string): Promise<void> {
    if (!this.me) return;
    await this.api.del(`/spaces/${spaceId}/members/${this.me.id}`);
    await this.loadSpaces();
    await this.loadConversations();
  }

  isStarted(): boolean {
    return this.started;
  }
}
