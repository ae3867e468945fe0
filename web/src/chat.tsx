// The chat view: history (virtualized, older pages on scroll-up), optimistic sending,
// typing, read receipts, reactions, replies and threads, edit/delete, attachments,
// mentions, day separators and the "new messages" marker.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { useChat, useClient } from "./hooks";
import { LevelOptions } from "./settings";
import { buildRows, mentionedIds, type Row } from "./rows";
import { conversationTitle, displayName, otherParticipant, seenBy, type PendingMessage } from "./store";
import type { Conversation, Message, Role } from "./types";
import { AttachmentView, Avatar, clock, formatSize, MessageText } from "./ui";
import { VirtualList } from "./VirtualList";
import { Icon } from "./icons";

const QUICK = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
const EMPTY: Message[] = [];
const EMPTY_PENDING: PendingMessage[] = [];
const NO_MARKERS: Record<string, number> = {};

interface Ctx {
  conv: Conversation;
  meId: string;
  usernames: Record<string, string>;
  byId: Map<string, Message>;
  lastOwnSeen: { id: string; names: string[] } | null;
  /** The lowest read marker among the other participants: messages up to it are seen by all. */
  othersRead: number;
  /** Likewise for delivery (a read message counts as delivered). */
  othersDelivered: number;
  canModerate: boolean;
  selected: string | null;
  /** The message opened from a search result or a mention, highlighted for a moment. */
  flash: string | null;
  select: (id: string | null) => void;
  reply: (m: Message) => void;
  edit: (m: Message) => void;
  openThread: (m: Message) => void;
  jumpTo: (id: string) => void;
}

function statusLabel(m: Message, seen: boolean, delivered: boolean): string {
  if (m.status === "FAILED") return "Not sent";
  if (m.status === "PENDING") return "Sending…";
  if (seen || m.status === "READ") return "Seen";
  if (delivered || m.status === "DELIVERED") return "Delivered";
  return "Sent";
}

function MessageRow(props: { msg: Message; grouped: boolean; ctx: Ctx; inThread?: boolean }) {
  const client = useClient();
  const { msg, ctx } = props;
  const mine = msg.senderId === ctx.meId;
  const pending = msg.id.startsWith("pending:");
  const deleted = msg.status === "DELETED" || Boolean(msg.deletedAt);
  const [picker, setPicker] = useState(false);

  if (msg.type === "SYSTEM") {
    return (
      <div class="sys-row" data-testid="system-message">
        <span>{msg.content}</span>
      </div>
    );
  }
  const parent = msg.parentMessageId ? ctx.byId.get(msg.parentMessageId) : undefined;
  const p = msg as PendingMessage;
  const seenNames = ctx.lastOwnSeen?.id === msg.id ? ctx.lastOwnSeen.names : null;
  const name = displayName(msg.sender ?? { username: "unknown" });
  const selected = ctx.selected === msg.id;
  const flashed = ctx.flash === msg.id;

  return (
    <div
      class={`msg ${mine ? "mine" : "theirs"} ${props.grouped ? "grouped" : ""} ${selected ? "selected" : ""} ${flashed ? "flash" : ""}`}
      data-testid="message"
      data-highlighted={flashed ? "true" : undefined}
      data-id={msg.id}
      data-status={msg.status}
      data-optimistic-id={msg.optimisticId ?? ""}
    >
      {!mine && !props.grouped ? (
        <Avatar id={msg.senderId} name={name} size={32} src={msg.sender?.avatar} />
      ) : (
        !mine && <span class="avatar-gap" />
      )}
      <div class="msg-body">
        {!props.grouped && !mine && (
          <div class="msg-author">
            {name}
            {msg.sender?.isBot && (
              <span class="bot-badge" data-testid="bot-badge" title="A bot">
                BOT
              </span>
            )}
            {msg.sender?.isBot && typeof msg.metadata?.label === "string" && (
              <span class="muted small" data-testid="message-label">
                {" "}
                via {msg.metadata.label}
              </span>
            )}
          </div>
        )}
        <div
          class={`bubble ${deleted ? "deleted" : ""} ${msg.status === "FAILED" ? "failed" : ""}`}
          onClick={() => ctx.select(selected ? null : msg.id)}
        >
          {parent && !props.inThread && (
            <button
              class="quote"
              type="button"
              onClick={(e) => {
                e.stopPropagation();
                ctx.jumpTo(parent.id);
              }}
            >
              <span class="quote-name">{displayName(parent.sender ?? { username: "unknown" })}</span>
              <span class="quote-text">{parent.status === "DELETED" ? "Deleted message" : parent.content || "Attachment"}</span>
            </button>
          )}
          {deleted ? (
            <span class="msg-text muted" data-testid="message-deleted">
              This message was deleted
            </span>
          ) : (
            <>
              {msg.attachments.map((a) => (
                <AttachmentView key={a.id} att={a} />
              ))}
              {(p.uploads ?? []).map((u, i) =>
                u.uploaded && !pending ? null : (
                  <div class="upload" key={i} data-testid="upload">
                    {u.previewUrl ? <img src={u.previewUrl} alt={u.name} class="upload-preview" /> : <span class="file-icon"><Icon name="file" /></span>}
                    <div class="upload-meta">
                      <span class="file-name">{u.name}</span>
                      <span class="file-size">{formatSize(u.size)}</span>
                      <progress max={1} value={u.progress} data-testid="upload-progress" />
                    </div>
                  </div>
                ),
              )}
              {msg.content && <MessageText text={msg.content} usernames={ctx.usernames} meId={ctx.meId} />}
            </>
          )}
          <span class="meta">
            {msg.editedAt && !deleted && <span class="edited">edited · </span>}
            <span>{clock(msg.createdAt)}</span>
            {mine && !deleted && (
              <span class={`status status-${msg.status.toLowerCase()}`} data-testid="message-status">
                {" · "}
                {statusLabel(msg, !pending && msg.seq <= ctx.othersRead, !pending && msg.seq <= ctx.othersDelivered)}
              </span>
            )}
          </span>
        </div>
        {msg.status === "FAILED" && (
          <div class="failed-row" data-testid="send-failed">
            <span>{p.error ?? "Not sent"}</span>
            <button type="button" class="link" onClick={() => client.retry(p.optimisticId)} data-testid="retry">
              Retry
            </button>
            <button type="button" class="link" onClick={() => client.discard(p.optimisticId)}>
              Discard
            </button>
          </div>
        )}
        {!deleted && (msg.reactions?.length ?? 0) > 0 && (
          <div class="reactions">
            {msg.reactions!.map((r) => (
              <button
                type="button"
                key={r.emoji}
                class={`chip ${r.userIds.includes(ctx.meId) ? "on" : ""}`}
                data-testid="reaction"
                data-emoji={r.emoji}
                onClick={() => void client.react(msg.conversationId, msg, r.emoji)}
                title={`${r.count}`}
              >
                <span>{r.emoji}</span> <span>{r.count}</span>
              </button>
            ))}
          </div>
        )}
        {!props.inThread && (msg.replyCount ?? 0) > 0 && !msg.parentMessageId && (
          <button type="button" class="link replies" onClick={() => ctx.openThread(msg)} data-testid="open-thread">
            {msg.replyCount === 1 ? "1 reply" : `${msg.replyCount} replies`}
          </button>
        )}
        {seenNames && seenNames.length > 0 && ctx.conv.type !== "PRIVATE" && (
          <div class="seen" data-testid="seen-by">
            Seen by {seenNames.join(", ")}
          </div>
        )}
      </div>
      {!pending && !deleted && (
        <div class="actions" role="toolbar" aria-label="Message actions">
          <button type="button" title="React" aria-label="React" onClick={() => setPicker(!picker)} data-testid="react">
            <Icon name="smile" size={17} />
          </button>
          <button type="button" title="Reply" aria-label="Reply" onClick={() => ctx.reply(msg)} data-testid="reply">
            <Icon name="reply" size={17} />
          </button>
          {!props.inThread && (
            <button type="button" title="Thread" aria-label="Open thread" onClick={() => ctx.openThread(msg)} data-testid="thread">
              <Icon name="thread" size={17} />
            </button>
          )}
          {mine && msg.type !== "IMAGE" && msg.type !== "FILE" && (
            <button type="button" title="Edit" aria-label="Edit" onClick={() => ctx.edit(msg)} data-testid="edit">
              <Icon name="edit" size={17} />
            </button>
          )}
          {(mine || ctx.canModerate) && (
            <button
              type="button"
              title="Delete"
              aria-label="Delete"
              data-testid="delete"
              onClick={() => {
                if (confirm("Delete this message for everyone?")) void client.remove(msg.conversationId, msg.id);
              }}
            >
              <Icon name="trash" size={17} />
            </button>
          )}
          {picker && (
            <div class="picker" data-testid="emoji-picker">
              {QUICK.map((e) => (
                <button
                  type="button"
                  key={e}
                  onClick={() => {
                    setPicker(false);
                    void client.react(msg.conversationId, msg, e);
                  }}
                >
                  {e}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function Composer(props: {
  conv: Conversation;
  parent: Message | null;
  editing: Message | null;
  onDone: () => void;
  usernames: Record<string, string>;
  threadRoot?: Message | null;
  testid?: string;
  onSent?: () => void;
}) {
  const client = useClient();
  const { conv } = props;
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [mention, setMention] = useState<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const meId = client.me?.id;
  const mineP = conv.participants.find((p) => p.userId === meId);
  const canSend = mineP?.canSendMessages !== false;

  // Layout effect: the text box holds the message before any further input is handled.
  useLayoutEffect(() => {
    if (props.editing) {
      setText(props.editing.content);
      if (input.current) input.current.value = props.editing.content;
      input.current?.focus();
    }
  }, [props.editing?.id]);
  useEffect(() => {
    if (props.parent) input.current?.focus();
  }, [props.parent?.id]);

  const candidates = useMemo(() => {
    if (mention === null) return [];
    const q = mention.toLowerCase();
    return conv.participants
      .filter((p) => p.userId !== meId && p.user)
      .filter((p) => p.user!.username.toLowerCase().startsWith(q) || (p.user!.displayName ?? "").toLowerCase().startsWith(q))
      .slice(0, 6);
  }, [mention, conv.participants]);

  const onInput = (value: string) => {
    setText(value);
    const el = input.current;
    const caret = el?.selectionStart ?? value.length;
    const m = /(^|\s)@([A-Za-z0-9_.-]*)$/.exec(value.slice(0, caret));
    setMention(m ? m[2] : null);
    if (props.editing) return;
    if (value.trim()) client.typing(conv.id);
    else client.stopTyping(conv.id);
  };

  const pickMention = (username: string) => {
    const el = input.current;
    const caret = el?.selectionStart ?? text.length;
    const before = text.slice(0, caret).replace(/@([A-Za-z0-9_.-]*)$/, `@${username} `);
    setText(before + text.slice(caret));
    setMention(null);
    el?.focus();
  };

  const submit = () => {
    const content = text.trim();
    if (props.editing) {
      if (content && content !== props.editing.content) {
        void client.edit(conv.id, props.editing.id, content).catch((e) => alert(e.message));
      }
      setText("");
      props.onDone();
      return;
    }
    if (!content && !files.length) return;
    const mentions = mentionedIds(content, props.usernames);
    const metadata = /(^|\s)@all\b/.test(content) ? { mentionAll: true } : undefined;
    const parentId = props.parent?.id ?? props.threadRoot?.id ?? null;
    client.send(conv.id, { content, parentMessageId: parentId, mentions, metadata }, files);
    props.onSent?.();
    client.stopTyping(conv.id);
    setText("");
    setFiles([]);
    setMention(null);
    props.onDone();
  };

  if (!canSend) return <div class="composer disabled">You can't send messages here.</div>;
  return (
    <div class="composer-wrap">
      {(props.parent || props.editing) && (
        <div class="compose-context">
          <span>
            {props.editing ? "Editing message" : `Replying to ${displayName(props.parent!.sender ?? { username: "unknown" })}`}
            {props.parent && <span class="muted">: {props.parent.content.slice(0, 80)}</span>}
          </span>
          <button
            type="button"
            class="icon"
            aria-label="Cancel"
            onClick={() => {
              if (props.editing) setText("");
              props.onDone();
            }}
          >
            <Icon name="close" size={14} />
          </button>
        </div>
      )}
      {files.length > 0 && (
        <div class="compose-files">
          {files.map((f, i) => (
            <span class="chip" key={i}>
              {f.name} ({formatSize(f.size)})
              <button type="button" class="icon" aria-label="Remove" onClick={() => setFiles(files.filter((_, j) => j !== i))}>
                <Icon name="close" size={14} />
              </button>
            </span>
          ))}
        </div>
      )}
      {candidates.length > 0 && (
        <div class="mention-list" data-testid="mention-list">
          {candidates.map((p) => (
            <button type="button" key={p.userId} onMouseDown={(e) => (e.preventDefault(), pickMention(p.user!.username))}>
              <Avatar id={p.userId} name={displayName(p.user)} size={24} /> {displayName(p.user)} <span class="muted">@{p.user!.username}</span>
            </button>
          ))}
        </div>
      )}
      <form
        class="composer"
        data-testid={props.testid ?? "composer"}
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        {!props.editing && (
          <>
            <button type="button" class="icon attach" aria-label="Attach a file" title="Attach" onClick={() => fileInput.current?.click()}>
              <Icon name="clip" />
            </button>
            <input
              ref={fileInput}
              type="file"
              multiple
              hidden
              data-testid="file-input"
              onChange={(e) => {
                const list = (e.currentTarget as HTMLInputElement).files;
                if (list) setFiles([...files, ...Array.from(list)]);
                (e.currentTarget as HTMLInputElement).value = "";
              }}
            />
          </>
        )}
        <textarea
          ref={input}
          rows={1}
          placeholder={props.threadRoot ? "Reply in thread…" : "Write a message…"}
          value={text}
          data-testid="message-input"
          onInput={(e) => onInput((e.currentTarget as HTMLTextAreaElement).value)}
          onBlur={() => client.stopTyping(conv.id)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              if (candidates.length && mention !== null) pickMention(candidates[0].user!.username);
              else submit();
            } else if (e.key === "Escape") {
              setMention(null);
              if (props.editing || props.parent) props.onDone();
            }
          }}
        />
        <button type="submit" class="send" aria-label={props.editing ? "Save" : "Send"} data-testid="send">
          {props.editing ? "Save" : "Send"}
        </button>
      </form>
    </div>
  );
}

function useCtx(
  conv: Conversation,
  messages: Message[],
  delivered: Record<string, number>,
  extra: Omit<Ctx, "conv" | "meId" | "usernames" | "byId" | "lastOwnSeen" | "othersRead" | "othersDelivered" | "canModerate">,
): Ctx {
  const client = useClient();
  const meId = client.me?.id ?? "";
  const usernames = useMemo(() => {
    const out: Record<string, string> = {};
    for (const p of conv.participants) if (p.user) out[p.user.username.toLowerCase()] = p.userId;
    return out;
  }, [conv.participants]);
  const byId = useMemo(() => new Map(messages.map((m) => [m.id, m])), [messages]);
  const lastOwnSeen = useMemo(() => {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (m.senderId === meId && m.type !== "SYSTEM" && m.status !== "DELETED") {
        return { id: m.id, names: seenBy(conv, m, meId) };
      }
    }
    return null;
  }, [messages, conv.participants, meId]);
  const myRole = conv.participants.find((p) => p.userId === meId)?.role ?? conv.myRole ?? "MEMBER";
  const canModerate = myRole === "OWNER" || myRole === "ADMIN" || myRole === "MODERATOR";
  const others = conv.participants.filter((p) => p.userId !== meId && (!p.status || p.status === "ACTIVE"));
  const othersRead = others.length ? Math.min(...others.map((p) => p.lastReadSeq ?? 0)) : 0;
  const othersDelivered = others.length
    ? Math.min(...others.map((p) => Math.max(p.lastReadSeq ?? 0, delivered[p.userId] ?? 0)))
    : 0;
  return { conv, meId, usernames, byId, lastOwnSeen, othersRead, othersDelivered, canModerate, ...extra };
}

function typingText(names: string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

/** Where to open: `at.message` (from /c/<id>?message=…); a new object asks again. */
export function ChatView(props: { id: string; at?: { message?: string } | null; onBack: () => void }) {
  const client = useClient();
  const conv = useChat((s) => s.conversations[props.id]);
  const [error, setError] = useState<string | null>(null);
  const [focus, setFocus] = useState<Focus | null>(null);
  const message = props.at?.message;
  // A new request to open at a message asks again; a plain open of the same one does not.
  const at = message ? props.at : null;
  useEffect(() => {
    setError(null);
    client
      .open(props.id, message)
      .then(() => message && setFocus({ id: message, nonce: Date.now() }))
      .catch((e) => setError(e.message ?? "Could not open the conversation"));
    return () => client.close();
  }, [props.id, at]);
  if (!conv) {
    return (
      <section class="chat empty-state">
        <p>{error ?? "Loading…"}</p>
      </section>
    );
  }
  return <ChatBody key={props.id} conv={conv} error={error} focus={focus} onBack={props.onBack} />;
}

interface Focus {
  id: string;
  nonce: number;
}

function ChatBody(props: { conv: Conversation; error: string | null; focus: Focus | null; onBack: () => void }) {
  const client = useClient();
  const conv = props.conv;
  const error = props.error;
  const cs = useChat((s) => s.convs[conv.id]);
  const presence = useChat((s) => s.presence);
  const spaces = useChat((s) => s.spaces);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [thread, setThread] = useState<Message | null>(null);
  const [info, setInfo] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [jump, setJump] = useState<{ key: string; nonce: number } | null>(null);
  const [toBottom, setToBottom] = useState(0);
  const [flash, setFlash] = useState<string | null>(null);

  const messages = cs?.messages ?? EMPTY;
  const pending = cs?.pending ?? EMPTY_PENDING;
  const firstUnreadSeq = cs?.firstUnreadSeq ?? null;
  const rows = useMemo(
    () => buildRows(messages, pending, { firstUnreadSeq, meId: client.me?.id }),
    [messages, pending, firstUnreadSeq],
  );

  // Open at the "new messages" marker when there is one.
  const jumped = useRef(false);
  useEffect(() => {
    if (jumped.current || !cs?.loaded) return;
    jumped.current = true;
    if (!props.focus && rows.some((r) => r.kind === "new")) setJump({ key: "new-marker", nonce: Date.now() });
  }, [cs?.loaded]);

  // Opened at a message: scroll it into view and highlight it for a moment.
  const focus = props.focus;
  useEffect(() => {
    if (!focus || !messages.some((m) => m.id === focus.id)) return;
    jumped.current = true;
    setJump({ key: focus.id, nonce: focus.nonce });
    setFlash(focus.id);
    const t = setTimeout(() => setFlash(null), 3000);
    return () => clearTimeout(t);
  }, [focus?.nonce]);

  const newest = async () => {
    await client.jumpToNewest(conv.id);
    setToBottom((n) => n + 1);
  };

  const ctx = useCtx(conv, messages, cs?.delivered ?? NO_MARKERS, {
    selected,
    flash,
    select: setSelected,
    reply: (m) => {
      setEditing(null);
      setReplyTo(m);
    },
    edit: (m) => {
      setReplyTo(null);
      setEditing(m);
    },
    openThread: (m) => {
      setInfo(false);
      setThread(m.threadId && m.threadId !== m.id ? (ctxById(m.threadId) ?? m) : m);
    },
    jumpTo: (id) => setJump({ key: id, nonce: Date.now() }),
  });
  function ctxById(id: string) {
    return messages.find((m) => m.id === id);
  }

  const meId = client.me?.id;
  const title = conversationTitle(conv, meId);
  const other = conv.type === "PRIVATE" ? otherParticipant(conv, meId) : undefined;
  const online = other ? (presence[other.userId] ?? other.user?.isOnline ?? false) : null;
  const typers = Object.entries(cs?.typing ?? {})
    .filter(([uid]) => uid !== meId)
    .map(([uid, t]) => {
      const p = conv.participants.find((x) => x.userId === uid);
      return p?.user ? displayName(p.user) : t.username;
    });
  const activeMembers = conv.participants.filter((p) => p.status === "ACTIVE" || !p.status);
  const subtitle =
    conv.type === "PRIVATE"
      ? online
        ? "online"
        : "offline"
      : `${conv.participantCount ?? activeMembers.length} members${conv.spaceId && spaces[conv.spaceId] ? ` · ${spaces[conv.spaceId].name}` : ""}`;

  const renderRow = (r: Row) => {
    if (r.kind === "day")
      return (
        <div class="day-sep" data-testid="day-separator">
          <span>{r.label}</span>
        </div>
      );
    if (r.kind === "new")
      return (
        <div class="new-marker" data-testid="new-messages-marker">
          <span>New messages</span>
        </div>
      );
    return <MessageRow msg={r.msg} grouped={r.grouped} ctx={ctx} />;
  };

  return (
    <section class={`chat ${thread || info ? "with-panel" : ""}`} data-testid="chat-view" data-conversation-id={conv.id}>
      <div class="chat-main">
        <header class="chat-header">
          <button type="button" class="icon back" aria-label="Back" onClick={props.onBack}>
            <Icon name="back" />
          </button>
          <Avatar id={other?.userId ?? conv.id} name={title} size={36} online={online} group={conv.type !== "PRIVATE"} src={other?.user?.avatar ?? conv.avatar} />
          <div class="chat-title">
            <h2 data-testid="chat-title">{title}</h2>
            <span class={`sub ${typers.length ? "typing" : ""}`} data-testid="chat-subtitle">
              {typers.length ? typingText(typers) : subtitle}
            </span>
          </div>
          <div class="chat-tools">
            <button
              type="button"
              class="icon"
              data-testid="toggle-mute"
              title={conv.notificationsEnabled ? "Mute" : "Unmute"}
              aria-label={conv.notificationsEnabled ? "Mute" : "Unmute"}
              onClick={() => void client.settings(conv.id, { notificationsEnabled: !conv.notificationsEnabled })}
            >
              <Icon name={conv.notificationsEnabled ? "bell" : "bellOff"} />
            </button>
            <button
              type="button"
              class="icon"
              data-testid="toggle-archive"
              title={conv.isArchived ? "Unarchive" : "Archive"}
              aria-label={conv.isArchived ? "Unarchive" : "Archive"}
              onClick={() => void client.settings(conv.id, { isArchived: !conv.isArchived })}
            >
              <Icon name={conv.isArchived ? "unarchive" : "archive"} />
            </button>
            <button
              type="button"
              class="icon"
              data-testid="open-info"
              title="Details"
              aria-label="Details"
              onClick={() => {
                setThread(null);
                setInfo(!info);
              }}
            >
              <Icon name="info" />
            </button>
          </div>
        </header>
        {cs?.loadingOlder && <div class="loading-older">Loading earlier messages…</div>}
        {cs?.hasMoreAfter && (
          <button type="button" class="jump-newest" data-testid="jump-newest" onClick={() => void newest()}>
            ↓ Newest messages
          </button>
        )}
        {!cs?.loaded ? (
          <div class="vlist center muted">{error ?? "Loading messages…"}</div>
        ) : rows.length === 0 ? (
          <div class="vlist center muted" data-testid="message-list">
            No messages yet. Say hello!
          </div>
        ) : (
          <VirtualList
            items={rows}
            keyOf={(r) => r.key}
            render={renderRow}
            estimate={56}
            jump={jump}
            toBottom={toBottom}
            onNearTop={() => void client.loadOlder(conv.id)}
            onNearBottom={cs.hasMoreAfter ? () => void client.loadNewer(conv.id) : undefined}
          />
        )}
        <div class="typing-line" data-testid="typing-indicator" aria-live="polite">
          {typers.length ? typingText(typers) : ""}
        </div>
        <Composer
          conv={conv}
          parent={replyTo}
          editing={editing}
          usernames={ctx.usernames}
          onSent={() => (cs?.hasMoreAfter ? void newest() : setToBottom((n) => n + 1))}
          onDone={() => {
            setReplyTo(null);
            setEditing(null);
          }}
        />
      </div>
      {thread && <ThreadPanel conv={conv} root={thread} ctx={ctx} onClose={() => setThread(null)} />}
      {info && <InfoPanel conv={conv} onClose={() => setInfo(false)} />}
    </section>
  );
}

function ThreadPanel(props: { conv: Conversation; root: Message; ctx: Ctx; onClose: () => void }) {
  const client = useClient();
  const cs = useChat((s) => s.convs[props.conv.id]);
  const [fetched, setFetched] = useState<Message[]>([]);
  useEffect(() => {
    client
      .thread(props.conv.id, props.root.id)
      .then(setFetched)
      .catch(() => setFetched([]));
  }, [props.root.id]);
  const root = cs?.messages.find((m) => m.id === props.root.id) ?? props.root;
  const replies = useMemo(() => {
    const map = new Map<string, Message>();
    for (const m of fetched) map.set(m.id, m);
    for (const m of cs?.messages ?? []) if (m.threadId === root.id && m.id !== root.id) map.set(m.id, m);
    for (const m of fetched) {
      const live = map.get(m.id);
      if (live && live.changeSeq < m.changeSeq) map.set(m.id, m);
    }
    return [...map.values()].sort((a, b) => a.seq - b.seq);
  }, [fetched, cs?.messages, root.id]);
  const pending = (cs?.pending ?? []).filter((p) => p.parentMessageId === root.id);
  const ctx: Ctx = { ...props.ctx, openThread: () => {} };
  return (
    <aside class="panel thread" data-testid="thread-panel">
      <header class="panel-header">
        <h3>Thread</h3>
        <button type="button" class="icon" aria-label="Close thread" onClick={props.onClose}>
<Icon name="close" size={16} />
        </button>
      </header>
      <div class="panel-body">
        <MessageRow msg={root} grouped={false} ctx={ctx} inThread />
        <div class="thread-count muted">{replies.length === 1 ? "1 reply" : `${replies.length} replies`}</div>
        {replies.concat(pending).map((m) => (
          <MessageRow key={m.id} msg={m} grouped={false} ctx={ctx} inThread />
        ))}
      </div>
      <Composer conv={props.conv} parent={null} editing={null} threadRoot={root} usernames={ctx.usernames} onDone={() => {}} testid="thread-composer" />
    </aside>
  );
}

const ROLES: Role[] = ["OWNER", "ADMIN", "MODERATOR", "MEMBER"];
const RANK: Record<Role, number> = { OWNER: 3, ADMIN: 2, MODERATOR: 1, MEMBER: 0 };

function InfoPanel(props: { conv: Conversation; onClose: () => void }) {
  const client = useClient();
  const presence = useChat((s) => s.presence);
  const { conv } = props;
  const meId = client.me?.id ?? "";
  const me = conv.participants.find((p) => p.userId === meId);
  const myRole: Role = me?.role ?? conv.myRole ?? "MEMBER";
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState(conv.name ?? "");
  const [error, setError] = useState<string | null>(null);
  const isGroup = conv.type === "GROUP";
  const canManage = myRole === "OWNER" || myRole === "ADMIN";
  const act = (p: Promise<unknown>) => p.then(() => setError(null)).catch((e) => setError(e.message ?? "Failed"));
  const members = conv.participants
    .filter((p) => !p.status || p.status === "ACTIVE")
    .sort((a, b) => RANK[b.role] - RANK[a.role] || displayName(a.user).localeCompare(displayName(b.user)));

  return (
    <aside class="panel info" data-testid="info-panel">
      <header class="panel-header">
        <h3>{conv.type === "PRIVATE" ? "Details" : "Group details"}</h3>
        <button type="button" class="icon" aria-label="Close details" onClick={props.onClose}>
<Icon name="close" size={16} />
        </button>
      </header>
      <div class="panel-body">
        {error && <div class="error">{error}</div>}
        {conv.type !== "PRIVATE" && canManage && (
          <form
            class="row-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim()) void act(client.rename(conv.id, name.trim()));
            }}
          >
            <input value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} aria-label="Group name" maxLength={100} />
            <button type="submit">Rename</button>
          </form>
        )}
        <NotifySettings conv={conv} act={act} />
        <h4>
          Members <span class="muted">({members.length})</span>
        </h4>
        <ul class="members" data-testid="members">
          {members.map((p) => {
            const manageable = isGroup && p.userId !== meId && (myRole === "OWNER" || (canManage && RANK[p.role] < RANK[myRole]));
            return (
              <li key={p.userId} data-testid="member">
                <Avatar id={p.userId} name={displayName(p.user)} size={32} online={presence[p.userId] ?? p.user?.isOnline ?? false} src={p.user?.avatar} />
                <span class="member-name">
                  {displayName(p.user)}
                  {p.userId === meId && <span class="muted"> (you)</span>}
                </span>
                {manageable ? (
                  <select
                    value={p.role}
                    aria-label="Role"
                    data-testid="role-select"
                    onChange={(e) => void act(client.setRole(conv.id, p.userId, (e.currentTarget as HTMLSelectElement).value as Role))}
                  >
                    {ROLES.filter((r) => r !== "OWNER" || myRole === "OWNER")
                      .filter((r) => myRole === "OWNER" || RANK[r] < RANK[myRole])
                      .map((r) => (
                        <option key={r} value={r}>
                          {r.toLowerCase()}
                        </option>
                      ))}
                  </select>
                ) : (
                  <span class="role">{p.role.toLowerCase()}</span>
                )}
                {manageable && (
                  <button type="button" class="icon" aria-label="Remove member" title="Remove" onClick={() => void act(client.removeMember(conv.id, p.userId))}>
                    <Icon name="close" size={14} />
                  </button>
                )}
              </li>
            );
          })}
        </ul>
        {isGroup && (canManage || me?.canAddMembers) && (
          <>
            {adding ? (
              <UserPicker
                exclude={conv.participants.filter((p) => !p.status || p.status === "ACTIVE").map((p) => p.userId)}
                action="Add"
                onPick={(ids) => {
                  setAdding(false);
                  void act(client.addMembers(conv.id, ids));
                }}
              />
            ) : (
              <button type="button" onClick={() => setAdding(true)} data-testid="add-members">
                Add members
              </button>
            )}
          </>
        )}
        {conv.type === "GROUP" && (
          <button
            type="button"
            class="danger"
            onClick={() => {
              if (confirm("Leave this group?")) void act(client.removeMember(conv.id, meId));
            }}
          >
            Leave group
          </button>
        )}
      </div>
    </aside>
  );
}

/** Search users and pick one or several. */
export function UserPicker(props: { exclude?: string[]; single?: boolean; action: string; onPick: (ids: string[], names: string[]) => void }) {
  const client = useClient();
  const [q, setQ] = useState("");
  const [results, setResults] = useState<{ id: string; username: string; displayName: string | null }[]>([]);
  const [picked, setPicked] = useState<{ id: string; name: string }[]>([]);
  useEffect(() => {
    const query = q.trim();
    if (!query) {
      setResults([]);
      return;
    }
    const t = setTimeout(() => {
      client
        .searchUsers(query)
        .then((users) => setResults(users.filter((u) => !(props.exclude ?? []).includes(u.id))))
        .catch(() => setResults([]));
    }, 200);
    return () => clearTimeout(t);
  }, [q]);
  return (
    <div class="picker-box">
      <input
        type="search"
        placeholder="Search people by name"
        value={q}
        data-testid="user-search"
        autoFocus
        onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
      />
      {picked.length > 0 && (
        <div class="chips">
          {picked.map((p) => (
            <span class="chip on" key={p.id}>
              {p.name}
              <button type="button" class="icon" aria-label="Remove" onClick={() => setPicked(picked.filter((x) => x.id !== p.id))}>
                <Icon name="close" size={14} />
              </button>
            </span>
          ))}
        </div>
      )}
      <ul class="results">
        {results.map((u) => (
          <li key={u.id}>
            <button
              type="button"
              data-testid="user-result"
              data-username={u.username}
              onClick={() => {
                const name = displayName(u);
                if (props.single) props.onPick([u.id], [name]);
                else if (!picked.some((p) => p.id === u.id)) setPicked([...picked, { id: u.id, name }]);
              }}
            >
              <Avatar id={u.id} name={displayName(u)} size={28} />
              <span>{displayName(u)}</span>
              <span class="muted">@{u.username}</span>
            </button>
          </li>
        ))}
        {q.trim() && results.length === 0 && <li class="muted">No one found</li>}
      </ul>
      {!props.single && (
        <button
          type="button"
          class="primary"
          disabled={!picked.length}
          data-testid="picker-confirm"
          onClick={() => props.onPick(
            picked.map((p) => p.id),
            picked.map((p) => p.name),
          )}
        >
          {props.action}
        </button>
      )}
    </div>
  );
}

const MUTE_FOR: [number, string][] = [
  [3600, "For 1 hour"],
  [8 * 3600, "For 8 hours"],
  [24 * 3600, "For 1 day"],
  [7 * 24 * 3600, "For 1 week"],
];

/** The caller's own notification settings of one conversation: its level (or the
 * default for its type, set in Settings) and a mute until a time. */
function NotifySettings(props: { conv: Conversation; act: (p: Promise<unknown>) => void }) {
  const client = useClient();
  const { conv } = props;
  const until = conv.mutedUntil && Date.parse(conv.mutedUntil) > Date.now() ? conv.mutedUntil : null;
  return (
    <div class="notify-settings" data-testid="conversation-notify">
      <h4>Notifications</h4>
      <label class="field">
        Notify me of
        <select
          value={conv.notificationLevel ?? ""}
          data-testid="conversation-level"
          onChange={(e) => {
            const v = (e.currentTarget as HTMLSelectElement).value;
            props.act(client.settings(conv.id, { notificationLevel: v === "" ? null : (v as "all" | "mentions" | "nothing") }));
          }}
        >
          <option value="">My default for {conv.type === "PRIVATE" ? "private chats" : conv.type === "GROUP" ? "groups" : "space channels"}</option>
          <LevelOptions />
        </select>
      </label>
      {until ? (
        <p class="muted small" data-testid="muted-until">
          Muted until {new Date(until).toLocaleString()}{" "}
          <button type="button" data-testid="unmute" onClick={() => props.act(client.settings(conv.id, { mutedUntil: null }))}>
            Unmute
          </button>
        </p>
      ) : (
        <label class="field">
          Mute
          <select
            value=""
            data-testid="mute-for"
            onChange={(e) => {
              const seconds = Number((e.currentTarget as HTMLSelectElement).value);
              if (seconds > 0) props.act(client.settings(conv.id, { mutedUntil: new Date(Date.now() + seconds * 1000).toISOString() }));
            }}
          >
            <option value="">Not muted</option>
            {MUTE_FOR.map(([s, text]) => (
              <option key={s} value={String(s)}>
                {text}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}
