import { beforeEach, describe, expect, it } from "vitest";
import { ChatStore, sortedConversations, seenBy, upsertSorted } from "../src/store";
import type { Conversation, Me, Message } from "../src/types";

const ME: Me = { id: "u-me", username: "me", displayName: "Me", avatar: null, email: "me@example.com" };
const OTHER = { id: "u-other", username: "other", displayName: "Other", avatar: null };
const C1 = "c-1";

let clock = 0;
function msg(seq: number, over: Partial<Message> = {}): Message {
  clock += 1;
  return {
    id: `m-${seq}`,
    conversationId: C1,
    senderId: OTHER.id,
    sender: OTHER,
    type: "TEXT",
    content: `message ${seq}`,
    status: "SENT",
    seq,
    changeSeq: seq,
    attachments: [],
    reactions: [],
    createdAt: new Date(Date.UTC(2026, 0, 5, 10, 0, clock)).toISOString(),
    ...over,
  };
}

function conversation(id: string, lastSeq: number, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    type: "PRIVATE",
    name: null,
    isArchived: false,
    createdAt: "2026-01-01T00:00:00.000Z",
    lastMessageAt: null,
    lastMessage: null,
    lastSeq,
    participants: [
      { userId: ME.id, user: ME, role: "MEMBER", status: "ACTIVE", lastReadSeq: 0 },
      { userId: OTHER.id, user: { ...OTHER, isOnline: true }, role: "MEMBER", status: "ACTIVE", lastReadSeq: 0 },
    ],
    unreadCount: 0,
    notificationsEnabled: true,
    ...over,
  };
}

let store: ChatStore;
beforeEach(() => {
  store = new ChatStore();
  store.setMe(ME);
  store.upsertConversations([conversation(C1, 3)]);
  store.addPage(C1, [msg(1), msg(2), msg(3)], false, false);
});

const contents = () => store.state.convs[C1].messages.map((m) => m.content);

describe("optimistic sending", () => {
  it("shows a typed message at once as PENDING, keyed by its optimisticId", () => {
    const p = store.addPending(C1, { content: "hello" });
    const cs = store.state.convs[C1];
    expect(cs.pending).toHaveLength(1);
    expect(cs.pending[0].status).toBe("PENDING");
    expect(cs.pending[0].optimisticId).toBe(p.optimisticId);
    expect(cs.pending[0].senderId).toBe(ME.id);
    expect(store.findPending(p.optimisticId)?.content).toBe("hello");
  });

  it("replaces the pending copy with the stored message on message_sent", () => {
    const p = store.addPending(C1, { content: "hello" });
    store.confirmSent(p.optimisticId, msg(4, { senderId: ME.id, content: "hello", optimisticId: p.optimisticId }));
    const cs = store.state.convs[C1];
    expect(cs.pending).toHaveLength(0);
    expect(contents()).toEqual(["message 1", "message 2", "message 3", "hello"]);
    expect(cs.messages[3].status).toBe("SENT");
  });

  it("marks a failed send FAILED and a retry reuses the same optimisticId", () => {
    const p = store.addPending(C1, { content: "flaky" });
    store.failPending(p.optimisticId, "unavailable");
    expect(store.findPending(p.optimisticId)?.status).toBe("FAILED");
    expect(store.findPending(p.optimisticId)?.error).toBe("unavailable");
    expect(store.pendingToSend()).toHaveLength(0);

    const again = store.retryPending(p.optimisticId);
    expect(again?.optimisticId).toBe(p.optimisticId);
    expect(again?.status).toBe("PENDING");
    expect(store.pendingToSend().map((m) => m.optimisticId)).toEqual([p.optimisticId]);
  });

  it("never shows a message twice when the ack, the live event and a sync all carry it", () => {
    const p = store.addPending(C1, { content: "once" });
    const stored = msg(4, { senderId: ME.id, content: "once", optimisticId: p.optimisticId });
    // the sync after a reconnect brings it before the (late) ack
    store.applySync({ ok: true, conversations: { [C1]: { changes: [stored], lastSeq: 4, hasMore: false } } });
    store.confirmSent(p.optimisticId, stored);
    store.applyMessage(stored);
    expect(store.state.convs[C1].pending).toHaveLength(0);
    expect(contents().filter((c) => c === "once")).toHaveLength(1);
  });

  it("drops a pending message that a history page shows as already stored", () => {
    const p = store.addPending(C1, { content: "stored meanwhile" });
    store.addPage(C1, [msg(4, { senderId: ME.id, content: "stored meanwhile", optimisticId: p.optimisticId })], false, false);
    expect(store.state.convs[C1].pending).toHaveLength(0);
    expect(contents()).toContain("stored meanwhile");
  });

  it("tracks upload progress on the pending message", () => {
    const p = store.addPending(C1, {
      content: "",
      uploads: [{ name: "cat.png", size: 10, mimeType: "image/png", progress: 0 }],
    });
    store.setUploadProgress(p.optimisticId, 0, 0.5);
    expect(store.findPending(p.optimisticId)?.uploads?.[0].progress).toBe(0.5);
    store.discardPending(p.optimisticId);
    expect(store.findPending(p.optimisticId)).toBeUndefined();
  });
});

describe("applying changes", () => {
  it("keeps messages in seq order and ignores stale copies", () => {
    store.applyMessage(msg(5));
    store.applyMessage(msg(4));
    expect(store.state.convs[C1].messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    store.applyMessage(msg(2, { content: "edited", changeSeq: 6, editedAt: "2026-01-05T11:00:00.000Z" }));
    store.applyMessage(msg(2)); // an older copy arriving late
    expect(store.state.convs[C1].messages[1].content).toBe("edited");
  });

  it("updates the conversation's last message for the list", () => {
    store.applyMessage(msg(4, { content: "latest" }));
    expect(store.state.conversations[C1].lastMessage?.content).toBe("latest");
    expect(store.state.conversations[C1].lastSeq).toBe(4);
  });

  it("clears the sender's typing indicator when their message arrives", () => {
    store.setTyping(C1, OTHER.id, "other");
    expect(Object.keys(store.state.convs[C1].typing)).toEqual([OTHER.id]);
    store.applyMessage(msg(4));
    expect(store.state.convs[C1].typing).toEqual({});
  });

  it("expires typing indicators that were never stopped", () => {
    store.setTyping(C1, OTHER.id, "other", 1000);
    store.expireTyping(5000);
    expect(Object.keys(store.state.convs[C1].typing)).toHaveLength(1);
    store.expireTyping(9000);
    expect(store.state.convs[C1].typing).toEqual({});
  });

  it("moves read markers forward only", () => {
    store.setReadMarker(C1, OTHER.id, 3);
    store.setReadMarker(C1, OTHER.id, 2);
    const other = store.state.conversations[C1].participants.find((p) => p.userId === OTHER.id);
    expect(other?.lastReadSeq).toBe(3);
  });
});

describe("resume", () => {
  it("asks for what follows the highest change number it has seen", () => {
    store.upsertConversations([conversation("c-2", 7)]);
    store.applyMessage(msg(4));
    expect(store.syncRequest()).toEqual({ [C1]: 4, "c-2": 7 });
  });

  it("notices a gap in live changes and does not claim to have seen past it", () => {
    expect(store.applyMessage(msg(4)).gap).toBe(false);
    expect(store.applyMessage(msg(6)).gap).toBe(true); // 5 was missed
    expect(store.syncRequest()[C1]).toBe(4);
    expect(store.hasGap(C1)).toBe(true);
    // the missing change arrives: 5 and the already applied 6 are now both seen
    expect(store.applyMessage(msg(5)).gap).toBe(false);
    expect(store.syncRequest()[C1]).toBe(6);
    expect(store.hasGap(C1)).toBe(false);
  });

  it("applies exactly the missed changes once, edits and deletions included", () => {
    store.applyMessage(msg(4));
    const ack = {
      ok: true,
      conversations: {
        [C1]: {
          changes: [
            msg(2, { content: "", status: "DELETED" as const, deletedAt: "2026-01-05T12:00:00.000Z", changeSeq: 7 }),
            msg(5),
            msg(6),
            msg(8, { changeSeq: 9, reactions: [{ emoji: "👍", count: 1, userIds: [OTHER.id] }] }),
          ],
          lastSeq: 9,
          hasMore: false,
        },
      },
      removed: [],
    };
    expect(store.applySync(ack)).toEqual([]);
    // the same ack applied twice (a retried sync) changes nothing
    store.applySync(ack);
    const seqs = store.state.convs[C1].messages.map((m) => m.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 8]);
    expect(store.state.convs[C1].messages[1].status).toBe("DELETED");
    expect(store.syncRequest()[C1]).toBe(9);
  });

  it("pages on while the server says hasMore, from the new number", () => {
    const more = store.applySync({
      ok: true,
      conversations: { [C1]: { changes: [msg(4), msg(5)], lastSeq: 5, hasMore: true } },
    });
    expect(more).toEqual([C1]);
    expect(store.syncRequest(more)).toEqual({ [C1]: 5 });
  });

  it("forgets conversations the server says the user left", () => {
    store.applySync({ ok: true, conversations: {}, removed: [C1] });
    expect(store.state.conversations[C1]).toBeUndefined();
    expect(store.syncRequest()).toEqual({});
  });

  it("takes a conversation's number from the list only while its messages are not loaded", () => {
    store.upsertConversations([conversation("c-3", 10)]);
    expect(store.syncRequest()["c-3"]).toBe(10);
    store.upsertConversations([conversation("c-3", 12)]);
    expect(store.syncRequest()["c-3"]).toBe(12);
    // C1 is loaded: a list fetch must not skip live changes it has not seen yet
    store.upsertConversations([conversation(C1, 50)]);
    expect(store.syncRequest()[C1]).toBe(3);
  });
});

describe("selectors", () => {
  it("orders conversations by latest activity and filters archived ones", () => {
    store.upsertConversations([
      conversation("old", 1, { lastMessageAt: "2026-01-01T10:00:00.000Z" }),
      conversation("new", 1, { lastMessageAt: "2026-01-03T10:00:00.000Z" }),
      conversation("arch", 1, { lastMessageAt: "2026-01-04T10:00:00.000Z", isArchived: true }),
    ]);
    expect(sortedConversations(store.state, { archived: false }).map((c) => c.id)).toEqual(["new", "old", C1]);
    expect(sortedConversations(store.state, { archived: true }).map((c) => c.id)).toEqual(["arch"]);
  });

  it("says who has seen a message from the participants' read markers", () => {
    const mine = msg(3, { senderId: ME.id });
    expect(seenBy(store.state.conversations[C1], mine, ME.id)).toEqual([]);
    store.setReadMarker(C1, OTHER.id, 3);
    expect(seenBy(store.state.conversations[C1], mine, ME.id)).toEqual(["Other"]);
  });

  it("upsertSorted keeps one copy per id", () => {
    let list: Message[] = [];
    list = upsertSorted(list, msg(2));
    list = upsertSorted(list, msg(1));
    list = upsertSorted(list, msg(2, { changeSeq: 5, content: "new" }));
    expect(list.map((m) => [m.seq, m.content])).toEqual([
      [1, "message 1"],
      [2, "new"],
    ]);
  });
});

describe("unread counts", () => {
  it("takes the server's count as it is", () => {
    store.setUnread(C1, 2);
    expect(store.state.conversations[C1].unreadCount).toBe(2);
    store.setUnread(C1, 3, 1);
    expect(store.state.conversations[C1].unreadMentions).toBe(1);
    store.setUnread(C1, 0);
    expect(store.state.conversations[C1].unreadCount).toBe(0);
  });
});
