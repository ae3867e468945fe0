import { describe, expect, it } from "vitest";
import { excerpt, highlight, queryWords } from "../src/find";
import { ChatStore, emptyConv, outsideWindow } from "../src/store";
import type { Message } from "../src/types";

describe("queryWords", () => {
  it("lowercases, drops repeats and puts the longest first", () => {
    expect(queryWords("  Chat c CHAT  ")).toEqual(["chat", "c"]);
    expect(queryWords("   ")).toEqual([]);
  });
});

describe("highlight", () => {
  it("marks every match of every word, keeping the original case", () => {
    expect(highlight("The Lighthouse and the light", "light house")).toEqual([
      { text: "The ", hit: false },
      { text: "Light", hit: true },
      { text: "house", hit: true },
      { text: " and the ", hit: false },
      { text: "light", hit: true },
    ]);
  });

  it("returns the whole text unmarked when nothing matches", () => {
    expect(highlight("nothing here", "zebra")).toEqual([{ text: "nothing here", hit: false }]);
    expect(highlight("", "zebra")).toEqual([]);
  });
});

describe("excerpt", () => {
  it("keeps a short text whole, with its spaces folded", () => {
    expect(excerpt("a short\n\nnote", "note")).toBe("a short note");
  });

  it("cuts a long text around the first match, at spaces, marking what was left off", () => {
    const before = "word ".repeat(40);
    const after = " tail".repeat(40);
    const out = excerpt(`${before}the lighthouse${after}`, "lighthouse", 30);
    expect(out.startsWith("…")).toBe(true);
    expect(out.endsWith("…")).toBe(true);
    expect(out).toContain("the lighthouse");
    expect(out.length).toBeLessThanOrEqual(62);
    expect(out.slice(1, -1).trim()).toBe(out.slice(1, -1));
  });

  it("starts at the beginning when the match is near it", () => {
    const out = excerpt(`lighthouse ${"x ".repeat(100)}`, "lighthouse", 20);
    expect(out.startsWith("lighthouse")).toBe(true);
    expect(out.endsWith("…")).toBe(true);
  });
});

function msg(seq: number): Message {
  return { id: `m-${seq}`, conversationId: "c", senderId: "u", type: "TEXT", content: "", status: "SENT", seq, changeSeq: seq, attachments: [], createdAt: "" };
}

describe("outsideWindow", () => {
  const held = [msg(10), msg(11), msg(12)];
  it("keeps messages beyond a window's open ends out", () => {
    const cs = { ...emptyConv(), messages: held, hasMoreBefore: true, hasMoreAfter: true };
    expect(outsideWindow(cs, msg(13))).toBe(true);
    expect(outsideWindow(cs, msg(9))).toBe(true);
    expect(outsideWindow(cs, { ...msg(11), changeSeq: 20 })).toBe(false);
  });

  it("lets new messages in at the present and old ones when history is complete", () => {
    const cs = { ...emptyConv(), messages: held, hasMoreBefore: false, hasMoreAfter: false };
    expect(outsideWindow(cs, msg(13))).toBe(false);
    expect(outsideWindow(cs, msg(9))).toBe(false);
    expect(outsideWindow(emptyConv(), msg(1))).toBe(false);
  });
});

describe("a window of history", () => {
  it("holds live messages beyond it back until the pages reach the present", () => {
    const store = new ChatStore();
    store.setWindow("c", [msg(10), msg(11), msg(12)], true, true);
    store.applyMessage(msg(90));
    expect(store.state.convs.c.messages.map((m) => m.seq)).toEqual([10, 11, 12]);
    store.addNewerPage("c", [msg(13), msg(14)], true);
    expect(store.state.convs.c.hasMoreAfter).toBe(true);
    store.addNewerPage("c", [msg(15), msg(90)], false);
    expect(store.state.convs.c.hasMoreAfter).toBe(false);
    store.applyMessage(msg(91));
    expect(store.state.convs.c.messages.map((m) => m.seq)).toEqual([10, 11, 12, 13, 14, 15, 90, 91]);
    store.setWindow("c", [msg(90), msg(91)], true, false);
    expect(store.state.convs.c.messages.map((m) => m.seq)).toEqual([90, 91]);
  });
});
