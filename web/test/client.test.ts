// ChatClient's resume and re-send logic against a fake socket and a fake HTTP API.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../src/api";
import { ChatClient } from "../src/client";
import type { Conversation, Me, Message } from "../src/types";

const ME: Me = { id: "u-me", username: "me", displayName: "Me", avatar: null, email: "me@example.com" };
const OTHER = { id: "u-other", username: "other", displayName: "Other", avatar: null };

function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m-${seq}`,
    conversationId: "c-1",
    senderId: OTHER.id,
    sender: OTHER,
    type: "TEXT",
    content: `message ${seq}`,
    status: "SENT",
    seq,
    changeSeq: seq,
    attachments: [],
    createdAt: new Date(Date.UTC(2026, 0, 5, 10, 0, seq)).toISOString(),
    ...over,
  };
}

const CONV: Conversation = {
  id: "c-1",
  type: "PRIVATE",
  name: null,
  isArchived: false,
  createdAt: "2026-01-01T00:00:00.000Z",
  lastMessageAt: null,
  lastMessage: null,
  lastSeq: 3,
  participants: [
    { userId: ME.id, user: ME, role: "MEMBER", status: "ACTIVE", lastReadSeq: 3 },
    { userId: OTHER.id, user: OTHER, role: "MEMBER", status: "ACTIVE", lastReadSeq: 3 },
  ],
  unreadCount: 0,
  notificationsEnabled: true,
};

type Handler = (payload: any) => any;

/** Answers client events the way the gateway would, from the test's handlers. */
class FakeSocket {
  connected = true;
  emitted: { event: string; payload: any }[] = [];
  constructor(readonly handlers: Record<string, Handler>) {}
  timeout() {
    return this;
  }
  emit(event: string, payload: any, ack?: (err: Error | null, res: any) => void) {
    this.emitted.push({ event, payload });
    const h = this.handlers[event];
    if (ack) queueMicrotask(() => ack(null, h ? h(payload) : { ok: true }));
    return this;
  }
}

function fakeApi(): Api {
  return {
    get: vi.fn(async (path: string) => (path.startsWith("/conversations?") ? { conversations: [CONV] } : {})),
  } as unknown as Api;
}

function clientWith(handlers: Record<string, Handler>): { client: ChatClient; socket: FakeSocket } {
  const client = new ChatClient(fakeApi());
  const socket = new FakeSocket(handlers);
  client.socket = socket as any;
  client.store.setMe(ME);
  client.store.upsertConversations([CONV]);
  client.store.addPage("c-1", [msg(1), msg(2), msg(3)], false, false);
  return { client, socket };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("resume after a reconnect", () => {
  it("sends its change numbers and pages on until nothing is missing", async () => {
    const { client, socket } = clientWith({
      sync: (p) =>
        p.conversations["c-1"] === 3
          ? { ok: true, conversations: { "c-1": { changes: [msg(4), msg(5)], lastSeq: 5, hasMore: true } } }
          : { ok: true, conversations: { "c-1": { changes: [msg(6)], lastSeq: 6, hasMore: false } } },
    });
    await client.syncAll();
    const syncs = socket.emitted.filter((e) => e.event === "sync").map((e) => e.payload.conversations);
    expect(syncs).toEqual([{ "c-1": 3 }, { "c-1": 5 }]);
    expect(client.store.state.convs["c-1"].messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(client.store.syncRequest()).toEqual({ "c-1": 6 });
  });

  it("re-sends waiting messages with their optimisticId once connected, not failed ones", async () => {
    const { client, socket } = clientWith({
      sync: () => ({ ok: true, conversations: { "c-1": { changes: [], lastSeq: 3, hasMore: false } } }),
      send_message: (p) => ({
        ok: true,
        message: msg(4, { senderId: ME.id, content: p.content, optimisticId: p.optimisticId }),
      }),
      get_presence: () => ({ ok: true, presence: {} }),
    });
    socket.connected = false;
    const waiting = client.send("c-1", { content: "typed offline" });
    const failed = client.store.addPending("c-1", { content: "failed earlier" });
    client.store.failPending(failed.optimisticId, "unavailable");
    await Promise.resolve();
    expect(socket.emitted.filter((e) => e.event === "send_message")).toHaveLength(0);

    socket.connected = true;
    await (client as any).afterConnect();
    await new Promise((r) => setTimeout(r, 0));
    const sends = socket.emitted.filter((e) => e.event === "send_message");
    expect(sends.map((e) => e.payload.optimisticId)).toEqual([waiting.optimisticId]);
    const cs = client.store.state.convs["c-1"];
    expect(cs.pending.map((p) => p.optimisticId)).toEqual([failed.optimisticId]);
    expect(cs.messages.filter((m) => m.content === "typed offline")).toHaveLength(1);

    // the user retries the failed one: same optimisticId again
    client.retry(failed.optimisticId);
    await new Promise((r) => setTimeout(r, 0));
    const retried = socket.emitted.filter((e) => e.event === "send_message").at(-1);
    expect(retried?.payload.optimisticId).toBe(failed.optimisticId);
  });

  it("fetches what a live event skipped with a sync of that conversation", async () => {
    vi.useFakeTimers();
    const { client, socket } = clientWith({
      sync: () => ({ ok: true, conversations: { "c-1": { changes: [msg(4), msg(5)], lastSeq: 5, hasMore: false } } }),
    });
    (client as any).onMessage(msg(5), true);
    expect(client.store.syncRequest()).toEqual({ "c-1": 3 });
    await vi.advanceTimersByTimeAsync(400);
    const syncs = socket.emitted.filter((e) => e.event === "sync").map((e) => e.payload.conversations);
    expect(syncs).toEqual([{ "c-1": 3 }]);
    expect(client.store.state.convs["c-1"].messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(client.store.syncRequest()).toEqual({ "c-1": 5 });
  });
});

describe("refused sends", () => {
  it("retries a rate-limited send by itself with the same optimisticId", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const { client, socket } = clientWith({
      send_message: (p) =>
        ++calls === 1
          ? { ok: false, error: { code: "rate_limited", message: "slow down", retryAfter: 1 } }
          : { ok: true, message: msg(4, { senderId: ME.id, content: p.content, optimisticId: p.optimisticId }) },
    });
    const p = client.send("c-1", { content: "eventually" });
    await vi.advanceTimersByTimeAsync(10);
    expect(client.store.findPending(p.optimisticId)?.status).toBe("PENDING");
    await vi.advanceTimersByTimeAsync(1000);
    const ids = socket.emitted.filter((e) => e.event === "send_message").map((e) => e.payload.optimisticId);
    expect(ids).toEqual([p.optimisticId, p.optimisticId]);
    expect(client.store.findPending(p.optimisticId)).toBeUndefined();
    expect(client.store.state.convs["c-1"].messages.at(-1)?.content).toBe("eventually");
  });

  it("marks a send refused for good as failed, for the user to retry", async () => {
    const { client } = clientWith({
      send_message: () => ({ ok: false, error: { code: "forbidden", message: "You cannot send here" } }),
    });
    const p = client.send("c-1", { content: "no" });
    await new Promise((r) => setTimeout(r, 0));
    expect(client.store.findPending(p.optimisticId)?.status).toBe("FAILED");
    expect(client.store.findPending(p.optimisticId)?.error).toBe("You cannot send here");
  });
});
