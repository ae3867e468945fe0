import { describe, expect, it } from "vitest";
import { buildRows, mentionedIds, segment } from "../src/rows";
import { layout, visibleRange } from "../src/virtual";
import type { Message } from "../src/types";

function m(seq: number, createdAt: string, senderId = "u-other"): Message {
  return {
    id: `m-${seq}`,
    conversationId: "c",
    senderId,
    type: "TEXT",
    content: `m${seq}`,
    status: "SENT",
    seq,
    changeSeq: seq,
    attachments: [],
    createdAt,
  };
}

describe("rows", () => {
  it("puts a day separator before each day's first message", () => {
    const rows = buildRows(
      [m(1, "2026-01-04T10:00:00.000Z"), m(2, "2026-01-04T11:00:00.000Z"), m(3, "2026-01-05T10:00:00.000Z")],
      [],
      { firstUnreadSeq: null, now: new Date("2026-01-05T12:00:00.000Z") },
    );
    expect(rows.map((r) => r.kind)).toEqual(["day", "msg", "msg", "day", "msg"]);
    const labels = rows.filter((r) => r.kind === "day").map((r) => (r.kind === "day" ? r.label : ""));
    expect(labels[1]).toBe("Today");
    expect(labels[0]).toBe("Yesterday");
  });

  it("marks the first unread message from someone else", () => {
    const rows = buildRows(
      [m(1, "2026-01-05T10:00:00.000Z"), m(2, "2026-01-05T10:01:00.000Z", "u-me"), m(3, "2026-01-05T10:02:00.000Z")],
      [],
      { firstUnreadSeq: 2, meId: "u-me" },
    );
    const at = rows.findIndex((r) => r.kind === "new");
    expect(at).toBeGreaterThan(0);
    const next = rows[at + 1];
    expect(next.kind === "msg" && next.msg.seq).toBe(3);
  });

  it("has no marker when nothing is unread", () => {
    const rows = buildRows([m(1, "2026-01-05T10:00:00.000Z")], [], { firstUnreadSeq: null });
    expect(rows.some((r) => r.kind === "new")).toBe(false);
  });
});

describe("text segments", () => {
  it("keeps markup as plain text", () => {
    const parts = segment('<img src=x onerror="alert(1)"> hi');
    expect(parts).toEqual([{ kind: "text", text: '<img src=x onerror="alert(1)"> hi' }]);
  });

  it("links only http(s) URLs and leaves other schemes as text", () => {
    const parts = segment("see https://example.com/a?b=1. and javascript:alert(1)");
    expect(parts.filter((p) => p.kind === "link").map((p) => (p.kind === "link" ? p.href : ""))).toEqual([
      "https://example.com/a?b=1",
    ]);
    expect(parts.map((p) => p.text).join("")).toBe("see https://example.com/a?b=1. and javascript:alert(1)");
  });

  it("recognises mentions of participants only", () => {
    const names = { alice_1: "u-a", "bob.b": "u-b" };
    const parts = segment("hi @alice_1 and @bob.b, not @nobody or a@mail.test", names);
    expect(parts.filter((p) => p.kind === "mention").map((p) => p.text)).toEqual(["@alice_1", "@bob.b"]);
    expect(parts.map((p) => p.text).join("")).toBe("hi @alice_1 and @bob.b, not @nobody or a@mail.test");
    expect(mentionedIds("hey @alice_1 @alice_1 @bob.b", names).sort()).toEqual(["u-a", "u-b"]);
  });
});

describe("virtual list math", () => {
  it("renders a small window of 10,000 rows", () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`);
    const heights = new Map<string, number>([["k5000", 200]]);
    const l = layout(keys, heights, 50);
    expect(l.total).toBe(9_999 * 50 + 200);
    const [start, end] = visibleRange(l, 250_000, 800, 400);
    expect(end - start).toBeLessThan(40);
    expect(l.offsets[start]).toBeLessThanOrEqual(250_000 - 400);
    expect(l.offsets[end]).toBeGreaterThanOrEqual(250_000 + 800 + 400 - 200);
    const [s0, e0] = visibleRange(l, 0, 800, 400);
    expect(s0).toBe(0);
    expect(e0).toBe(25);
    const [sEnd, eEnd] = visibleRange(l, l.total - 800, 800, 400);
    expect(eEnd).toBe(10_000);
    expect(sEnd).toBeGreaterThan(9_960);
  });
});
