// The admin page (/settings/admin), for server administrators only: the server's
// numbers, the accounts (search, paging, deactivate / reactivate, a reset link, end
// every session) and the newest entries of the audit log.

import { useEffect, useMemo, useState } from "preact/hooks";
import { AdminApi, type AdminUser, type AuditEntry, errorText, type ResetLink, type ServerStats } from "./account";
import { useChat, useClient } from "./hooks";
import { Card, Note, PageHeader, when } from "./settings";
import { formatSize } from "./ui";

const PAGE = 20;

type NoteState = { ok: boolean; text: string } | null;

export function AdminPage(props: { onBack: () => void }) {
  const client = useClient();
  const admin = useMemo(() => new AdminApi(client.api), [client]);
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  return (
    <section class="chat page" data-testid="admin-page">
      <PageHeader title="Server administration" onBack={props.onBack} />
      <div class="page-body">
        <StatsCard admin={admin} version={version} />
        <AuditCard admin={admin} version={version} />
        <UsersCard admin={admin} onChange={changed} />
      </div>
    </section>
  );
}

function StatsCard(props: { admin: AdminApi; version: number }) {
  const [stats, setStats] = useState<ServerStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    props.admin.stats().then(setStats, (e) => setError(errorText(e)));
  }, [props.version]);
  const days = stats?.messagesPerDay ?? [];
  const peak = Math.max(1, ...days.map((d) => d.messages));
  return (
    <Card title="The server" testid="stats-card">
      {error && <div class="error">{error}</div>}
      {stats && (
        <>
          <dl class="stats">
            <Stat label="Accounts" value={stats.users.total} testid="stat-users" />
            <Stat label="Active" value={stats.users.active} testid="stat-active" />
            <Stat label="Deactivated" value={stats.users.deactivated} testid="stat-deactivated" />
            <Stat label="Seen in 24 h" value={stats.users.activeLastDay} testid="stat-last-day" />
            <Stat label="Conversations" value={stats.conversations} testid="stat-conversations" />
            <Stat label="Files" value={`${stats.storage.files} (${formatSize(stats.storage.bytes)})`} testid="stat-files" />
          </dl>
          <figure class="bars" aria-label="Messages per day, the last 14 days">
            {days.map((d) => (
              <span key={d.day} class="bar" title={`${d.day}: ${d.messages} messages`} style={{ height: `${Math.round((d.messages / peak) * 100)}%` }} />
            ))}
            <figcaption class="muted small">
              Messages per day, last 14 days: {days.reduce((n, d) => n + d.messages, 0)} in all
            </figcaption>
          </figure>
        </>
      )}
    </Card>
  );
}

function Stat(props: { label: string; value: number | string; testid: string }) {
  return (
    <div class="stat">
      <dt class="muted small">{props.label}</dt>
      <dd data-testid={props.testid}>{props.value}</dd>
    </div>
  );
}

function UsersCard(props: { admin: AdminApi; onChange: () => void }) {
  const meId = useChat((s) => s.me?.id);
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  // The cursors of the pages shown so far: [null] is the first page.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<{ users: AdminUser[]; nextCursor: string | null } | null>(null);
  const [note, setNote] = useState<NoteState>(null);
  const [link, setLink] = useState<(ResetLink & { username: string }) | null>(null);
  const [busy, setBusy] = useState(false);
  const cursor = cursors[cursors.length - 1];

  const load = () =>
    props.admin.users(search, cursor, PAGE).then(setPage, (e) => setNote({ ok: false, text: errorText(e) }));
  useEffect(() => {
    void load();
  }, [search, cursor]);

  const act = async (run: () => Promise<string>) => {
    setBusy(true);
    setNote(null);
    try {
      setNote({ ok: true, text: await run() });
      await load();
      props.onChange();
    } catch (e) {
      setNote({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Accounts" testid="users-card" wide>
      <form
        class="inline-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q);
          setCursors([null]);
        }}
      >
        <label class="field grow">
          Find by name or email
          <input type="search" value={q} maxLength={100} data-testid="user-search" onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit" data-testid="user-search-go">
          Search
        </button>
      </form>
      <Note note={note} testid="users-note" />
      {link && (
        <div class="reset-link" data-testid="reset-link-box">
          <label class="field">
            One-time reset link for @{link.username} (until {when(link.expiresAt)})
            <input readOnly value={link.link} data-testid="reset-link" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
          </label>
          <button
            type="button"
            data-testid="copy-reset-link"
            onClick={() =>
              navigator.clipboard?.writeText(link.link).then(
                () => setNote({ ok: true, text: "Link copied." }),
                () => setNote({ ok: false, text: "Copying was refused; select the link and copy it." }),
              )
            }
          >
            Copy
          </button>
        </div>
      )}
      {page === null ? (
        <p class="muted">Loading…</p>
      ) : page.users.length === 0 ? (
        <p class="muted">No account matches.</p>
      ) : (
        <ul class="rows" data-testid="admin-user-list">
          {page.users.map((u) => (
            <li key={u.id} class="row-item wrap" data-testid="admin-user" data-username={u.username} data-active={String(u.isActive)}>
              <div class="row-main">
                <strong>{u.displayName || u.username}</strong> <span class="muted">@{u.username}</span>
                {u.isAdmin && <span class="tag">admin</span>}
                {u.isBot && (
                  <span class="bot-badge" data-testid="admin-bot-badge">
                    BOT
                  </span>
                )}
                {u.isDeleted ? <span class="tag">deleted</span> : !u.isActive && <span class="tag warn">deactivated</span>}
                <div class="muted small">
                  {u.email} · joined {when(u.createdAt)} · last seen {when(u.lastSeenAt)}
                </div>
              </div>
              {u.id === meId ? (
                <span class="muted small">You (an administrator cannot change their own account here)</span>
              ) : (
                !u.isDeleted && (
                <div class="row-actions">
                  {u.isActive ? (
                    <button type="button" disabled={busy} data-testid="deactivate" onClick={() => act(async () => (await props.admin.setActive(u.id, false), `@${u.username} was deactivated.`))}>
                      Deactivate
                    </button>
                  ) : (
                    <button type="button" disabled={busy} data-testid="reactivate" onClick={() => act(async () => (await props.admin.setActive(u.id, true), `@${u.username} was reactivated.`))}>
                      Reactivate
                    </button>
                  )}
                  {u.isActive && (
                    <button
                      type="button"
                      disabled={busy}
                      data-testid="reset-link-button"
                      onClick={() =>
                        act(async () => {
                          setLink({ ...(await props.admin.resetLink(u.id)), username: u.username });
                          return `A reset link for @${u.username} is below.`;
                        })
                      }
                    >
                      Reset link
                    </button>
                  )}
                  <button type="button" disabled={busy} data-testid="logout-all" onClick={() => act(async () => `${(await props.admin.logoutAll(u.id)).ended} sessions of @${u.username} ended.`)}>
                    End all sessions
                  </button>
                </div>
                )
              )}
            </li>
          ))}
        </ul>
      )}
      <nav class="pager" aria-label="Pages of accounts">
        <button type="button" disabled={cursors.length === 1} data-testid="users-prev" onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <span class="muted small">Page {cursors.length}</span>
        <button type="button" disabled={!page?.nextCursor} data-testid="users-next" onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}>
          Next
        </button>
      </nav>
    </Card>
  );
}

function AuditCard(props: { admin: AdminApi; version: number }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    props.admin.audit(20).then((p) => setEntries(p.entries), (e) => setError(errorText(e)));
  }, [props.version]);
  return (
    <Card title="Audit log (newest first)" testid="audit-card">
      {error && <div class="error">{error}</div>}
      {entries && entries.length === 0 && <p class="muted">Nothing yet.</p>}
      {entries && entries.length > 0 && (
        <ul class="rows scroll" data-testid="audit-list" tabIndex={0} aria-label="Audit log entries">
          {entries.map((a) => (
            <li key={a.id} class="row-item" data-testid="audit-entry" data-action={a.action}>
              <div class="row-main">
                <strong>{a.action}</strong>
                {a.targetName && <span> · @{a.targetName}</span>}
                <div class="muted small">
                  {when(a.at)} · by {a.actorName}
                  {a.address ? ` from ${a.address}` : ""}
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
