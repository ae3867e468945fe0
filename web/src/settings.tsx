// The settings page (/settings): the signed-in user's password, email, sessions,
// notification defaults, data export and account deletion.

import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import {
  AccountApi,
  deviceLabel,
  endedText,
  errorText,
  type ExportState,
  isPaused,
  type NotificationDefaults,
  LEVELS,
  type NotifyLevel,
  pauseEnd,
  quietHours,
  type SessionInfo,
} from "./account";
import { useChat, useClient } from "./hooks";
import { Icon } from "./icons";
import { formatSize } from "./ui";

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "never";
}

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/** A page's header with a way back (the phone layout shows one pane at a time). */
export function PageHeader(props: { title: string; onBack: () => void; children?: ComponentChildren }) {
  return (
    <header class="chat-header page-header">
      <button type="button" class="icon" aria-label="Back" data-testid="page-back" onClick={props.onBack}>
        <Icon name="back" />
      </button>
      <h2>{props.title}</h2>
      {props.children}
    </header>
  );
}

export function Card(props: { title: string; testid: string; children: ComponentChildren; danger?: boolean; wide?: boolean }) {
  return (
    <section class={`card ${props.danger ? "danger" : ""} ${props.wide ? "wide" : ""}`} data-testid={props.testid} aria-label={props.title}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

/** A status line: an error (role=alert) or a confirmation (role=status). */
export function Note(props: { note: { ok: boolean; text: string } | null; testid: string }) {
  if (!props.note) return null;
  return props.note.ok ? (
    <p class="ok-note" role="status" data-testid={props.testid}>
      {props.note.text}
    </p>
  ) : (
    <div class="error" role="alert" data-testid={props.testid}>
      {props.note.text}
    </div>
  );
}

type NoteState = { ok: boolean; text: string } | null;

/** A password input in its labelled field: the current password unless `fresh`. */
function PasswordField(props: { label: string; value: string; set: (v: string) => void; testid: string; fresh?: boolean }) {
  return (
    <label class="field">
      {props.label}
      <input
        type="password"
        autoComplete={props.fresh ? "new-password" : "current-password"}
        required
        minLength={props.fresh ? 8 : undefined}
        maxLength={128}
        value={props.value}
        data-testid={props.testid}
        onInput={(e) => props.set(value(e))}
      />
    </label>
  );
}

/** A form's outcome line and its submit button. */
function Submit(props: { note: NoteState; noteId: string; busy: boolean; testid: string; text: string }) {
  return (
    <>
      <Note note={props.note} testid={props.noteId} />
      <button type="submit" class="primary" disabled={props.busy} data-testid={props.testid}>
        {props.text}
      </button>
    </>
  );
}

/** Run a call while `busy`, reporting its outcome as a note. */
function useAction(): [boolean, NoteState, (run: () => Promise<string | null>) => Promise<void>, (n: NoteState) => void] {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<NoteState>(null);
  const act = async (run: () => Promise<string | null>) => {
    setBusy(true);
    setNote(null);
    try {
      const text = await run();
      if (text) setNote({ ok: true, text });
    } catch (err) {
      setNote({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  return [busy, note, act, setNote];
}

export function SettingsPage(props: {
  onBack: () => void;
  onAdmin: (() => void) | null;
  onIntegrations: () => void;
  onAccountDeleted: () => void;
}) {
  const client = useClient();
  const account = useMemo(() => new AccountApi(client.api), [client]);
  const [sessionsVersion, setSessionsVersion] = useState(0);
  return (
    <section class="chat page" data-testid="settings-page">
      <PageHeader title="Settings" onBack={props.onBack}>
        <button type="button" data-testid="open-integrations" onClick={props.onIntegrations}>
          Integrations
        </button>
        {props.onAdmin && (
          <button type="button" data-testid="open-admin" onClick={props.onAdmin}>
            <Icon name="shield" size={16} /> Server administration
          </button>
        )}
      </PageHeader>
      <div class="page-body">
        <PasswordCard account={account} onChanged={() => setSessionsVersion((v) => v + 1)} />
        <EmailCard account={account} />
        <SessionsCard account={account} version={sessionsVersion} />
        <NotificationsCard account={account} />
        <ExportCard account={account} />
        <DeleteCard account={account} onDeleted={props.onAccountDeleted} />
      </div>
    </section>
  );
}

function PasswordCard(props: { account: AccountApi; onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [busy, note, act, setNote] = useAction();
  return (
    <Card title="Password" testid="password-card">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (next.length < 8) return setNote({ ok: false, text: "The new password needs at least 8 characters" });
          void act(async () => {
            const { ended } = await props.account.changePassword(current, next);
            setCurrent("");
            setNext("");
            props.onChanged();
            return `Password changed. ${endedText(ended)}`;
          });
        }}
      >
        <PasswordField label="Current password" value={current} set={setCurrent} testid="current-password" />
        <PasswordField label="New password" value={next} set={setNext} testid="new-password" fresh />
        <Submit note={note} noteId="password-note" busy={busy} testid="change-password" text="Change password" />
      </form>
    </Card>
  );
}

function EmailCard(props: { account: AccountApi }) {
  const client = useClient();
  const me = useChat((s) => s.me);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, note, act] = useAction();
  return (
    <Card title="Email" testid="email-card">
      <p class="muted">
        Now: <span data-testid="current-email">{me?.email}</span>
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const user = await props.account.changeEmail(password, email.trim());
            client.store.setMe(user);
            setEmail("");
            setPassword("");
            return "Email changed.";
          });
        }}
      >
        <label class="field">
          New email
          <input type="email" autoComplete="email" required maxLength={255} value={email} data-testid="new-email" onInput={(e) => setEmail(value(e))} />
        </label>
        <PasswordField label="Password" value={password} set={setPassword} testid="email-password" />
        <Submit note={note} noteId="email-note" busy={busy} testid="change-email" text="Change email" />
      </form>
    </Card>
  );
}

function SessionsCard(props: { account: AccountApi; version: number }) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [busy, note, act] = useAction();
  const load = () => props.account.sessions().then(setSessions);
  useEffect(() => {
    void act(async () => {
      await load();
      return null;
    });
  }, [props.version]);
  const others = (sessions ?? []).filter((s) => !s.current).length;
  return (
    <Card title="Where you are signed in" testid="sessions-card">
      {sessions === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <ul class="rows" data-testid="session-list">
          {sessions.map((s) => (
            <li key={s.id} class="row-item" data-testid="session" data-id={s.id} data-current={String(!!s.current)}>
              <div class="row-main">
                <strong>{deviceLabel(s.userAgent)}</strong>
                {s.current && (
                  <span class="tag" data-testid="this-device">
                    this device
                  </span>
                )}
                <div class="muted small">
                  {s.address ?? "unknown address"} · last used {when(s.lastUsedAt)} · signed in {when(s.createdAt)}
                </div>
              </div>
              {!s.current && (
                <button
                  type="button"
                  disabled={busy}
                  data-testid="end-session"
                  aria-label={`Sign out ${deviceLabel(s.userAgent)}`}
                  onClick={() =>
                    act(async () => {
                      await props.account.endSession(s.id);
                      await load();
                      return "That session was signed out.";
                    })
                  }
                >
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <Note note={note} testid="sessions-note" />
      <button
        type="button"
        disabled={busy || others === 0}
        data-testid="logout-others"
        onClick={() =>
          act(async () => {
            const { ended } = await props.account.endOtherSessions();
            await load();
            return endedText(ended);
          })
        }
      >
        Sign out everywhere else
      </button>
    </Card>
  );
}

/** A select's options for the notification levels. */
export function LevelOptions() {
  return (
    <>
      {LEVELS.map(([v, text]) => (
        <option key={v} value={v}>
          {text}
        </option>
      ))}
    </>
  );
}

function NotificationsCard(props: { account: AccountApi }) {
  const [prefs, setPrefs] = useState<NotificationDefaults | null>(null);
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [zone, setZone] = useState("");
  const [busy, note, act, setNote] = useAction();
  const show = (p: NotificationDefaults) => {
    setPrefs(p);
    setStart(p.quietHoursStart ?? "");
    setEnd(p.quietHoursEnd ?? "");
    setZone(p.timezone);
  };
  useEffect(() => {
    void act(async () => {
      show(await props.account.notifications());
      return null;
    });
  }, []);
  const save = (patch: Partial<NotificationDefaults>, text = "Saved.") =>
    act(async () => {
      show(await props.account.updateNotifications(patch));
      return text;
    });
  if (!prefs) return <Card title="Notifications" testid="notifications-card">{note ? <Note note={note} testid="notify-note" /> : <p class="muted">Loading…</p>}</Card>;
  const paused = isPaused(prefs.pausedUntil);
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (
    <Card title="Notifications" testid="notifications-card">
      <div class="level-grid">
        {(["private", "group", "space"] as const).map((kind) => (
          <label class="field" key={kind}>
            {kind === "private" ? "Private chats" : kind === "group" ? "Groups" : "Space channels"}
            <select value={prefs[kind]} data-testid={`level-${kind}`} disabled={busy} onChange={(e) => save({ [kind]: (e.currentTarget as HTMLSelectElement).value as NotifyLevel })}>
              <LevelOptions />
            </select>
          </label>
        ))}
      </div>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const hours = quietHours(start, end);
          if (typeof hours === "string") return setNote({ ok: false, text: hours });
          void save({ ...hours, timezone: zone.trim() || prefs.timezone });
        }}
      >
        <label class="field">
          Quiet from
          <input type="time" value={start} data-testid="quiet-start" onInput={(e) => setStart(value(e))} />
        </label>
        <label class="field">
          until
          <input type="time" value={end} data-testid="quiet-end" onInput={(e) => setEnd(value(e))} />
        </label>
        <label class="field">
          Time zone
          <input value={zone} maxLength={64} list="zone-here" data-testid="timezone" onInput={(e) => setZone(value(e))} />
          <datalist id="zone-here">
            <option value={here} />
            <option value="UTC" />
          </datalist>
        </label>
        <button type="submit" disabled={busy} data-testid="save-quiet">
          Save
        </button>
      </form>
      <div class="pause-row">
        <span data-testid="pause-state">{paused ? `Paused until ${when(prefs.pausedUntil)}` : "Not paused"}</span>
        {paused ? (
          <button type="button" disabled={busy} data-testid="resume" onClick={() => save({ pausedUntil: null }, "Notifications resumed.")}>
            Resume
          </button>
        ) : (
          (["1h", "8h", "tomorrow"] as const).map((c) => (
            <button type="button" key={c} disabled={busy} data-testid={`pause-${c}`} onClick={() => save({ pausedUntil: pauseEnd(c) }, "Notifications paused.")}>
              {c === "tomorrow" ? "Pause until tomorrow" : `Pause ${c}`}
            </button>
          ))
        )}
      </div>
      <label class="check-row">
        <input
          type="checkbox"
          checked={prefs.digests}
          disabled={busy}
          data-testid="digests"
          onChange={(e) => {
            const digests = (e.currentTarget as HTMLInputElement).checked;
            setPrefs({ ...prefs, digests }); // shown at once; the server's answer follows
            void save({ digests });
          }}
        />
        Email me a digest of mentions and direct messages I have not seen
      </label>
      <Note note={note} testid="notify-note" />
    </Card>
  );
}

function ExportCard(props: { account: AccountApi }) {
  const client = useClient();
  const [state, setState] = useState<ExportState | null>(null);
  const [link, setLink] = useState<string | null>(null);
  const [busy, note, act] = useAction();
  useEffect(() => {
    void act(async () => {
      setState(await props.account.exportState());
      return null;
    });
  }, []);
  // While the export runs, ask every second; when it is ready, fetch it (the download
  // needs the bearer token) and offer it as a link.
  useEffect(() => {
    if (state?.status === "running") {
      const t = setTimeout(() => props.account.exportState().then(setState, () => undefined), 1000);
      return () => clearTimeout(t);
    }
    if (state?.status === "ready" && state.url) {
      let url: string | null = null;
      client.api.blobUrl(state.url).then(
        (u) => {
          url = u;
          setLink(u);
        },
        () => undefined,
      );
      return () => url && URL.revokeObjectURL(url);
    }
    return undefined;
  }, [state?.status, state?.url]);
  const status = state?.status ?? "none";
  return (
    <Card title="Your data" testid="export-card">
      <p class="muted">A JSON file of your profile, your messages and your files.</p>
      <p data-testid="export-state" data-status={status}>
        {status === "running"
          ? "Preparing your data…"
          : status === "ready"
            ? `Ready${state?.size ? ` (${formatSize(state.size)})` : ""}.`
            : status === "failed"
              ? "The last export failed; ask again."
              : "No export yet."}
      </p>
      {status === "ready" && link && (
        <a class="button-link" href={link} download="hubbub-export.json" data-testid="export-download">
          Download my data
        </a>
      )}
      <Note note={note} testid="export-note" />
      <button
        type="button"
        disabled={busy || status === "running"}
        data-testid="start-export"
        onClick={() =>
          act(async () => {
            setLink(null);
            setState(await props.account.startExport());
            return null;
          })
        }
      >
        {status === "ready" ? "Make a new export" : "Export my data"}
      </button>
    </Card>
  );
}

function DeleteCard(props: { account: AccountApi; onDeleted: () => void }) {
  const [password, setPassword] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [busy, note, act] = useAction();
  return (
    <Card title="Delete my account" testid="delete-card" danger>
      <p class="muted">
        You leave every conversation and can no longer sign in. Your messages stay, from "Deleted user". This cannot be undone.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!confirming) return setConfirming(true);
          void act(async () => {
            await props.account.deleteAccount(password);
            props.onDeleted();
            return null;
          });
        }}
      >
        <PasswordField label="Password" value={password} set={setPassword} testid="delete-password" />
        <Note note={note} testid="delete-note" />
        {confirming ? (
          <div class="confirm" role="alertdialog" aria-label="Confirm deleting your account">
            <strong>Delete your account for good?</strong>
            <button type="submit" class="danger-button" disabled={busy} data-testid="confirm-delete" autoFocus>
              Yes, delete it
            </button>
            <button type="button" onClick={() => setConfirming(false)} data-testid="cancel-delete">
              Cancel
            </button>
          </div>
        ) : (
          <button type="submit" class="danger-button" data-testid="delete-account">
            Delete my account…
          </button>
        )}
      </form>
    </Card>
  );
}
