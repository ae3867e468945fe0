// Small shared pieces: avatars, presence dots, time labels, message text.

import { useEffect, useState } from "preact/hooks";
import { useClient } from "./hooks";
import { Icon } from "./icons";
import { segment } from "./rows";
import type { Attachment } from "./types";

const PALETTE = ["#5b6ee1", "#d9574a", "#3f9f6b", "#c2842f", "#8d5bd1", "#2f8fb0", "#c2478a", "#6b7a3a"];

export function colorFor(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function initials(name: string): string {
  const parts = name.trim().split(/[\s._-]+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2);
  return s.toUpperCase();
}

export function Avatar(props: {
  id: string;
  name: string;
  size?: number;
  online?: boolean | null;
  group?: boolean;
  src?: string | null;
}) {
  const size = props.size ?? 40;
  const src = useFileUrl(props.src ?? null);
  return (
    <span class="avatar" style={{ width: `${size}px`, height: `${size}px`, background: colorFor(props.id) }} aria-hidden="true">
      {src ? (
        <img class="avatar-img" src={src} alt="" width={size} height={size} />
      ) : (
        <span class="avatar-text" style={{ fontSize: `${Math.round(size * 0.38)}px` }}>
          {props.group ? "#" : initials(props.name)}
        </span>
      )}
      {props.online !== undefined && props.online !== null && (
        <span class={`presence ${props.online ? "on" : "off"}`} data-testid="presence" data-online={String(props.online)} />
      )}
    </span>
  );
}

export function timeLabel(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const diff = (now.getTime() - d.getTime()) / 86_400_000;
  if (diff < 7) return d.toLocaleDateString(undefined, { weekday: "short" });
  return d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/**
 * Message text: text nodes, http(s) links as plain anchors, and @mentions. Never HTML:
 * every piece goes through Preact's text binding, which sets textContent.
 */
export function MessageText(props: { text: string; usernames: Record<string, string>; meId?: string }) {
  const parts = segment(props.text, props.usernames);
  return (
    <span class="msg-text" data-testid="message-text">
      {parts.map((p, i) =>
        p.kind === "link" ? (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer">
            {p.text}
          </a>
        ) : p.kind === "mention" ? (
          <span key={i} class={`mention ${p.userId && p.userId === props.meId ? "me" : ""}`}>
            {p.text}
          </span>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </span>
  );
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Only this server's own files are loaded; the bearer token never goes anywhere else. */
export function ownUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  if (url.startsWith("blob:")) return url;
  try {
    const u = new URL(url, location.href);
    return u.origin === location.origin && (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
  } catch {
    return null;
  }
}

/** Files are served to participants only: signed URLs load directly, others via fetch + bearer. */
export function useFileUrl(raw: string | null | undefined): string | null {
  const client = useClient();
  const url = ownUrl(raw);
  const direct = !url || url.startsWith("blob:") || /[?&]sig=/.test(url);
  const [resolved, setResolved] = useState<string | null>(direct ? (url ?? null) : null);
  useEffect(() => {
    if (direct) {
      setResolved(url ?? null);
      return;
    }
    let gone = false;
    let made: string | null = null;
    client.api
      .blobUrl(url as string)
      .then((u) => {
        made = u;
        if (!gone) setResolved(u);
        else URL.revokeObjectURL(u);
      })
      .catch(() => setResolved(null));
    return () => {
      gone = true;
      if (made) URL.revokeObjectURL(made);
    };
  }, [url]);
  return resolved;
}

export function AttachmentView(props: { att: Attachment }) {
  const a = props.att;
  const isImage = a.mimeType?.startsWith("image/");
  const thumb = useFileUrl(isImage ? a.thumbnailUrl || a.url : null);
  const full = useFileUrl(a.url);
  if (isImage) {
    const w = a.width ?? 320;
    const h = a.height ?? 240;
    const scale = Math.min(1, 280 / w, 280 / h);
    return (
      <a class="att-image" href={full ?? undefined} target="_blank" rel="noopener noreferrer" title={a.filename}>
        {thumb ? (
          <img src={thumb} alt={a.filename} width={Math.round(w * scale)} height={Math.round(h * scale)} data-testid="attachment-image" />
        ) : (
          <span class="img-placeholder" style={{ width: `${Math.round(w * scale)}px`, height: `${Math.round(h * scale)}px` }} />
        )}
      </a>
    );
  }
  return (
    <a class="att-file" href={full ?? undefined} download={a.filename} rel="noopener noreferrer" data-testid="attachment-file">
      <span class="file-icon" aria-hidden="true">
        <Icon name="file" />
      </span>
      <span class="file-meta">
        <span class="file-name">{a.filename}</span>
        <span class="file-size">{formatSize(a.size)}</span>
      </span>
    </a>
  );
}
