// The application shell: sign in / register, the conversation list, spaces, and routing
// (/c/<conversation id>, /c/<id>?message=<message id> to open it at a message,
// /s/<space id>) with the History API; the search box and the mentions view.

import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Api } from "./api";
import { ChatView, UserPicker } from "./chat";
import { ChatClient } from "./client";
import { ClientContext, useChat, useClient } from "./hooks";
import { conversationTitle, displayName, otherParticipant, sortedConversations } from "./store";
import type { Conversation, ConnectionState, Space } from "./types";
import { Avatar, timeLabel } from "./ui";
import { Icon } from "./icons";
import { AdminApi, resetToken } from "./account";
import { ForgotPasswordForm, ResetPasswordForm } from "./reset";
import { AdminPage } from "./admin";
import { IntegrationsPage } from "./integrations";
import { SettingsPage } from "./settings";
import { MentionsView, SearchResults } from "./search";
import { notificationsOn, notificationsSupported, onOpenRequest, registerWorker, turnOff, turnOn } from "./notify";

type Route =
  | { view: "home" }
  | { view: "chat"; id: string; message?: string }
  | { view: "space"; id: string }
  | { view: "settings" }
  | { view: "admin" }
  | { view: "integrations" };

function parseRoute(path: string, search = ""): Route {
  const m = /^\/(c|s)\/([0-9a-fA-F-]{8,})\/?$/.exec(path);
  const message = new URLSearchParams(search).get("message") ?? undefined;
  if (m) return m[1] === "c" ? { view: "chat", id: m[2], message } : { view: "space", id: m[2] };
  if (/^\/settings\/?$/.test(path)) return { view: "settings" };
  if (/^\/settings\/admin\/?$/.test(path)) return { view: "admin" };
  if (/^\/settings\/integrations\/?$/.test(path)) return { view: "integrations" };
  return { view: "home" };
}

function routePath(r: Route): string {
  switch (r.view) {
    case "chat":
      return `/c/${r.id}${r.message ? `?message=${encodeURIComponent(r.message)}` : ""}`;
    case "space":
      return `/s/${r.id}`;
    case "settings":
      return "/settings";
    case "admin":
      return "/settings/admin";
    case "integrations":
      return "/settings/integrations";
    default:
      return "/";
  }
}

function useRoute(): [Route, (r: Route) => void] {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname, location.search));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.pathname, location.search));
    window.addEventListener("popstate", on);
    return () => window.removeEventListener("popstate", on);
  }, []);
  const go = (r: Route) => {
    const path = routePath(r);
    if (path !== location.pathname + location.search) history.pushState(null, "", path);
    setRoute(r);
  };
  return [route, go];
}

type Theme = "light" | "dark" | "system";

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem("hubbub.theme") as Theme) || "system");
  useEffect(() => {
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    localStorage.setItem("hubbub.theme", theme);
  }, [theme]);
  return [theme, setTheme];
}

export function App() {
  const api = useMemo(() => new Api(), []);
  const [client, setClient] = useState<ChatClient | null>(null);
  const [phase, setPhase] = useState<"loading" | "anon" | "in">("loading");

  const begin = async (me: Awaited<ReturnType<Api["login"]>>) => {
    const c = new ChatClient(api);
    setClient(c);
    setPhase("in");
    await c.start(me);
  };

  // Why the sign-in screen shows, when the app did not sign out by itself.
  const [notice, setNotice] = useState<string | null>(null);
  const end = (why: string) => {
    setClient((c) => {
      c?.stop();
      return null;
    });
    setNotice(why);
    setPhase("anon");
    history.replaceState(null, "", "/");
  };

  useEffect(() => {
    api.onSessionEnded = () => end("You were signed out: this session was ended.");
    // A password-reset link opens the sign-in screen's reset form, whoever is signed in
    // (and it ends every session when used).
    const onHash = () => {
      if (!resetToken(location.hash)) return;
      setClient((c) => {
        c?.stop();
        return null;
      });
      setPhase("anon");
    };
    window.addEventListener("hashchange", onHash);
    if (resetToken(location.hash)) setPhase("anon");
    else api.resume().then((me) => (me ? begin(me) : setPhase("anon")));
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  if (phase === "loading") return <div class="splash">hubbub</div>;
  if (phase === "anon" || !client)
    return (
      <AuthScreen
        api={api}
        notice={notice}
        onIn={(me) => {
          setNotice(null);
          void begin(me);
        }}
      />
    );
  return (
    <ClientContext.Provider value={client}>
      <Shell
        onAccountDeleted={() => {
          api.clear();
          end("Your account was deleted.");
        }}
        onLogout={async () => {
          await client.logout();
          setClient(null);
          setPhase("anon");
          history.pushState(null, "", "/");
        }}
      />
    </ClientContext.Provider>
  );
}

function AuthScreen(props: { api: Api; notice: string | null; onIn: (me: Awaited<ReturnType<Api["login"]>>) => void }) {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [token, setToken] = useState(() => resetToken(location.hash));
  const [forgot, setForgot] = useState(false);
  const [info, setInfo] = useState<string | null>(props.notice);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const on = () => setToken(resetToken(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  const [f, setF] = useState({ login: "", username: "", email: "", password: "", displayName: "" });
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me =
        mode === "login"
          ? await props.api.login(f.login.trim(), f.password)
          : await props.api.register(f.username.trim(), f.email.trim(), f.password, f.displayName.trim() || undefined);
      props.onIn(me);
    } catch (err) {
      setError(err instanceof Error ? err.message : "Something went wrong");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="auth">
      <div class="auth-card">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ◉
          </span>{" "}
          hubbub
        </div>
        {!token && !forgot && (
          <div class="tabs" role="tablist">
            <button type="button" role="tab" class={mode === "login" ? "on" : ""} onClick={() => setMode("login")} data-testid="tab-login">
              Sign in
            </button>
            <button type="button" role="tab" class={mode === "register" ? "on" : ""} onClick={() => setMode("register")} data-testid="tab-register">
              Create account
            </button>
          </div>
        )}
        {token ? (
          <ResetPasswordForm
            api={props.api}
            token={token}
            onDone={() => {
              history.replaceState(null, "", "/");
              setToken(null);
              setMode("login");
              setInfo("Your password was changed. Sign in with it.");
            }}
          />
        ) : forgot ? (
          <ForgotPasswordForm api={props.api} onBack={() => setForgot(false)} />
        ) : (
          <form onSubmit={submit} class="auth-form" data-testid={`${mode}-form`}>
            {mode === "login" ? (
              <label>
                Email or username
                <input name="login" autoComplete="username" required value={f.login} onInput={set("login")} />
              </label>
            ) : (
              <>
                <label>
                  Username
                  <input name="username" autoComplete="username" required minLength={3} maxLength={50} pattern="[A-Za-z0-9_.\-]+" value={f.username} onInput={set("username")} />
                </label>
                <label>
                  Display name <span class="muted">(optional)</span>
                  <input name="displayName" autoComplete="name" maxLength={100} value={f.displayName} onInput={set("displayName")} />
                </label>
                <label>
                  Email
                  <input name="email" type="email" autoComplete="email" required value={f.email} onInput={set("email")} />
                </label>
              </>
            )}
            <label>
              Password
              <input
                name="password"
                type="password"
                autoComplete={mode === "login" ? "current-password" : "new-password"}
                required
                minLength={8}
                maxLength={128}
                value={f.password}
                onInput={set("password")}
              />
            </label>
            {error && (
              <div class="error" role="alert" data-testid="auth-error">
                {error}
              </div>
            )}
            {info && mode === "login" && (
              <p class="ok-note" role="status" data-testid="auth-info">
                {info}
              </p>
            )}
            <button type="submit" class="primary" disabled={busy} data-testid="auth-submit">
              {mode === "login" ? "Sign in" : "Create account"}
            </button>
            {mode === "login" && (
              <button type="button" class="link" data-testid="forgot-password" onClick={() => setForgot(true)}>
                Forgot your password?
              </button>
            )}
          </form>
        )}
      </div>
    </main>
  );
}

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  online: "Online",
  syncing: "Catching up…",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

function ConnectionPill() {
  const client = useClient();
  const state = useChat((s) => s.connection);
  const transport = useChat((s) => s.transport);
  return (
    <button
      type="button"
      class={`conn conn-${state}`}
      data-testid="connection"
      data-state={state}
      data-transport={transport ?? ""}
      title={state === "online" ? `Connected (${transport ?? "…"})` : "Click to reconnect"}
      onClick={() => state !== "online" && client.reconnect()}
    >
      <span class="dot" aria-hidden="true" />
      {CONNECTION_TEXT[state]}
    </button>
  );
}

function Shell(props: { onLogout: () => void; onAccountDeleted: () => void }) {
  const client = useClient();
  const me = useChat((s) => s.me);
  const [route, go] = useRoute();
  const [theme, setTheme] = useTheme();
  const [notifying, setNotifying] = useState(notificationsOn);
  useEffect(() => {
    if (notificationsOn()) void registerWorker();
    // A click on a notification (in the service worker) opens its conversation here.
    return onOpenRequest((path) => {
      const url = new URL(path, location.origin);
      go(parseRoute(url.pathname, url.search));
    });
  }, []);
  const [dialog, setDialog] = useState<null | "new" | "space" | "profile">(null);
  const [tab, setTab] = useState<"chats" | "archived" | "spaces" | "mentions">(route.view === "space" ? "spaces" : "chats");
  const [query, setQuery] = useState("");
  const openAt = (id: string, message: string) => go({ view: "chat", id, message });
  // Ctrl+K (or ⌘K) anywhere, or "/" outside a text field, focuses the search box.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      if (((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") || (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey)) {
        e.preventDefault();
        document.getElementById("search-box")?.focus();
      }
    };
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, []);
  const conversations = useChat((s) => s.conversations);
  // The admin page's entry shows only to server administrators: /admin answers them alone.
  const [isAdmin, setIsAdmin] = useState(false);
  useEffect(() => {
    new AdminApi(client.api).isAdmin().then(setIsAdmin, () => setIsAdmin(false));
  }, [client]);

  // Unread total in the tab title.
  useEffect(() => {
    const unread = Object.values(conversations).reduce((n, c) => n + (c.notificationsEnabled === false ? 0 : c.unreadCount || 0), 0);
    document.title = unread ? `(${unread}) hubbub` : "hubbub";
  }, [conversations]);

  const chatId = route.view === "chat" ? route.id : null;
  const page = route.view === "settings" || route.view === "integrations" || (route.view === "admin" && isAdmin) ? route.view : null;
  return (
    <div class={`shell ${chatId || page ? "has-chat" : ""}`}>
      <aside class="sidebar">
        <header class="side-header">
          <button type="button" class="me-button" aria-label="Your profile" data-testid="open-profile" onClick={() => setDialog("profile")}>
            {me && <Avatar id={me.id} name={displayName(me)} size={36} src={me.avatar} />}
          </button>
          <div class="me">
            <strong data-testid="me-name">{me ? displayName(me) : ""}</strong>
            <ConnectionPill />
          </div>
          <button
            type="button"
            class="icon"
            title="Theme"
            aria-label="Switch theme"
            data-testid="theme"
            onClick={() => setTheme(theme === "system" ? "dark" : theme === "dark" ? "light" : "system")}
          >
            <Icon name={theme === "dark" ? "moon" : theme === "light" ? "sun" : "auto"} />
          </button>
          {notificationsSupported() && (
            <button
              type="button"
              class="icon"
              title={notifying ? "Notifications on" : "Notifications off"}
              aria-label={notifying ? "Turn notifications off" : "Turn notifications on"}
              aria-pressed={notifying}
              data-testid="notifications"
              onClick={() => {
                if (notifying) void turnOff(client.api).finally(() => setNotifying(false));
                else void turnOn(client.api).then(setNotifying);
              }}
            >
              <Icon name={notifying ? "bell" : "bellOff"} />
            </button>
          )}
          <button type="button" class="icon" title="Settings" aria-label="Settings" data-testid="open-settings" onClick={() => go({ view: "settings" })}>
            <Icon name="gear" />
          </button>
          <button type="button" class="icon" title="Sign out" aria-label="Sign out" data-testid="logout" onClick={props.onLogout}>
            <Icon name="logout" />
          </button>
        </header>
        <form class="search-form" role="search" onSubmit={(e) => e.preventDefault()}>
          <input
            id="search-box"
            type="search"
            placeholder="Search messages (Ctrl+K)"
            aria-label="Search messages"
            data-testid="search-box"
            value={query}
            maxLength={200}
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") setQuery("");
              if (e.key === "ArrowDown") {
                e.preventDefault();
                document.querySelector<HTMLElement>(".find-pane [data-find-item]")?.focus();
              }
            }}
          />
        </form>
        <nav class="tabs small">
          <button type="button" class={tab === "chats" ? "on" : ""} onClick={() => setTab("chats")} data-testid="tab-chats">
            Chats
          </button>
          <button type="button" class={tab === "spaces" ? "on" : ""} onClick={() => setTab("spaces")} data-testid="tab-spaces">
            Spaces
          </button>
          <button type="button" class={tab === "archived" ? "on" : ""} onClick={() => setTab("archived")} data-testid="tab-archived">
            Archived
          </button>
          <button type="button" class={tab === "mentions" ? "on" : ""} onClick={() => setTab("mentions")} data-testid="tab-mentions">
            Mentions
          </button>
        </nav>
        {query.trim() ? (
          <SearchResults query={query.trim()} onOpen={openAt} />
        ) : tab === "mentions" ? (
          <MentionsView onOpen={openAt} />
        ) : tab === "spaces" ? (
          <SpacesPane
            route={route}
            go={go}
            onCreate={() => setDialog("space")}
          />
        ) : (
          <>
            <div class="side-actions">
              <button type="button" class="primary" data-testid="new-chat" onClick={() => setDialog("new")}>
                + New chat
              </button>
            </div>
            <ConversationList archived={tab === "archived"} spaceId={undefined} activeId={chatId} onOpen={(id) => go({ view: "chat", id })} />
          </>
        )}
      </aside>
      <main class="content">
        {page === "settings" ? (
          <SettingsPage
            onBack={() => go({ view: "home" })}
            onAdmin={isAdmin ? () => go({ view: "admin" }) : null}
            onIntegrations={() => go({ view: "integrations" })}
            onAccountDeleted={props.onAccountDeleted}
          />
        ) : page === "admin" ? (
          <AdminPage onBack={() => go({ view: "settings" })} />
        ) : page === "integrations" ? (
          <IntegrationsPage onBack={() => go({ view: "settings" })} />
        ) : chatId ? (
          <ChatView id={chatId} at={route.view === "chat" ? route : null} onBack={() => go({ view: "home" })} />
        ) : (
          <section class="chat empty-state">
            <div>
              <div class="big-logo" aria-hidden="true">
                ◉
              </div>
              <p>Pick a conversation, or start a new one.</p>
            </div>
          </section>
        )}
      </main>
      {dialog === "new" && (
        <NewChatDialog
          onClose={() => setDialog(null)}
          onCreated={(c) => {
            setDialog(null);
            setTab("chats");
            go({ view: "chat", id: c.id });
          }}
        />
      )}
      {dialog === "profile" && (
        <ProfileDialog
          onClose={() => setDialog(null)}
          onSettings={() => {
            setDialog(null);
            go({ view: "settings" });
          }}
        />
      )}
      {dialog === "space" && (
        <NewSpaceDialog
          onClose={() => setDialog(null)}
          onCreated={(s) => {
            setDialog(null);
            go({ view: "space", id: s.id });
          }}
        />
      )}
      {void client}
    </div>
  );
}

function preview(c: Conversation, meId: string | undefined): string {
  const m = c.lastMessage;
  if (!m) return c.type === "PRIVATE" ? "No messages yet" : `${c.participantCount ?? c.participants.length} members`;
  if (m.status === "DELETED") return "Message deleted";
  const who = m.type === "SYSTEM" ? "" : m.senderId === meId ? "You: " : c.type !== "PRIVATE" ? `${displayName(m.sender)}: ` : "";
  const body = m.content || (m.attachments?.length ? (m.type === "IMAGE" ? "📷 Photo" : "📎 File") : "");
  return who + body;
}

function ConversationList(props: { archived: boolean; spaceId: string | null | undefined; activeId: string | null; onOpen: (id: string) => void }) {
  const client = useClient();
  const state = useChat((s) => s);
  const list = useMemo(
    () => sortedConversations(state, { archived: props.archived, spaceId: props.spaceId }),
    [state.conversations, props.archived, props.spaceId],
  );
  const meId = client.me?.id;
  if (!list.length)
    return <p class="muted pad">{props.archived ? "Nothing archived." : "No conversations yet."}</p>;
  return (
    <ul class="conv-list" data-testid="conversation-list">
      {list.map((c) => {
        const title = conversationTitle(c, meId);
        const other = c.type === "PRIVATE" ? otherParticipant(c, meId) : undefined;
        const online = other ? (state.presence[other.userId] ?? other.user?.isOnline ?? false) : null;
        const typing = Object.values(state.convs[c.id]?.typing ?? {});
        return (
          <li key={c.id}>
            <button
              type="button"
              class={`conv ${props.activeId === c.id ? "active" : ""} ${c.unreadCount ? "unread" : ""}`}
              data-testid="conversation"
              data-id={c.id}
              data-title={title}
              onClick={() => props.onOpen(c.id)}
            >
              <Avatar id={other?.userId ?? c.id} name={title} online={online} group={c.type !== "PRIVATE"} src={other?.user?.avatar ?? c.avatar} />
              <span class="conv-main">
                <span class="conv-top">
                  <span class="conv-title">{title}</span>
                  <span class="conv-time">{timeLabel(c.lastMessageAt ?? c.createdAt)}</span>
                </span>
                <span class="conv-bottom">
                  <span class={`conv-preview ${typing.length ? "typing" : ""}`} data-testid="conversation-preview">
                    {typing.length ? `${typing[0].username} is typing…` : preview(c, meId)}
                  </span>
                  {!c.notificationsEnabled && (
                    <span class="muted-icon" title="Muted" data-testid="muted">
                      <Icon name="bellOff" size={14} />
                    </span>
                  )}
                  {(c.unreadMentions ?? 0) > 0 && (
                    <span class="badge" title="Mentions you" data-testid="mention-badge">
                      @
                    </span>
                  )}
                  {c.unreadCount > 0 && (
                    <span class={`badge ${c.notificationsEnabled ? "" : "quiet"}`} data-testid="unread-badge">
                      {c.unreadCount > 99 ? "99+" : c.unreadCount}
                    </span>
                  )}
                </span>
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  useEffect(() => {
    const on = (e: KeyboardEvent) => e.key === "Escape" && props.onClose();
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, []);
  return (
    <div class="modal-back" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={props.title}>
        <header class="panel-header">
          <h3>{props.title}</h3>
          <button type="button" class="icon" aria-label="Close" onClick={props.onClose}>
            <Icon name="close" size={16} />
          </button>
        </header>
        <div class="modal-body">{props.children}</div>
      </div>
    </div>
  );
}

function NewChatDialog(props: { onClose: () => void; onCreated: (c: Conversation) => void; spaceId?: string }) {
  const client = useClient();
  const [kind, setKind] = useState<"PRIVATE" | "GROUP">(props.spaceId ? "GROUP" : "PRIVATE");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const create = (ids: string[]) => {
    setError(null);
    const body = props.spaceId
      ? { type: "SPACE" as const, participantIds: [], name: name.trim(), spaceId: props.spaceId }
      : kind === "PRIVATE"
        ? { type: "PRIVATE" as const, participantIds: ids }
        : { type: "GROUP" as const, participantIds: ids, name: name.trim() };
    if (body.type !== "PRIVATE" && !body.name) {
      setError("Give it a name");
      return;
    }
    client
      .createConversation(body)
      .then(props.onCreated)
      .catch((e) => setError(e.message ?? "Could not create it"));
  };
  return (
    <Modal title={props.spaceId ? "New channel" : "New chat"} onClose={props.onClose}>
      {!props.spaceId && (
        <div class="tabs small">
          <button type="button" class={kind === "PRIVATE" ? "on" : ""} onClick={() => setKind("PRIVATE")} data-testid="kind-private">
            Private chat
          </button>
          <button type="button" class={kind === "GROUP" ? "on" : ""} onClick={() => setKind("GROUP")} data-testid="kind-group">
            Group
          </button>
        </div>
      )}
      {(kind === "GROUP" || props.spaceId) && (
        <label class="field">
          Name
          <input value={name} maxLength={100} data-testid="group-name" onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
      )}
      {error && <div class="error">{error}</div>}
      {props.spaceId ? (
        <button type="button" class="primary" onClick={() => create([])} data-testid="create-channel">
          Create channel
        </button>
      ) : (
        <UserPicker key={kind} single={kind === "PRIVATE"} action="Create group" onPick={(ids) => create(ids)} />
      )}
    </Modal>
  );
}

function NewSpaceDialog(props: { onClose: () => void; onCreated: (s: Space) => void }) {
  const client = useClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal title="New space" onClose={props.onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return;
          client
            .createSpace(name.trim(), description.trim() || undefined)
            .then(props.onCreated)
            .catch((err) => setError(err.message));
        }}
      >
        <label class="field">
          Name
          <input value={name} maxLength={100} required data-testid="space-name" onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="field">
          Description <span class="muted">(optional)</span>
          <input value={description} onInput={(e) => setDescription((e.currentTarget as HTMLInputElement).value)} />
        </label>
        {error && <div class="error">{error}</div>}
        <button type="submit" class="primary" data-testid="create-space">
          Create space
        </button>
      </form>
    </Modal>
  );
}

function SpacesPane(props: { route: Route; go: (r: Route) => void; onCreate: () => void }) {
  const client = useClient();
  const spaces = useChat((s) => s.spaces);
  const list = Object.values(spaces).sort((a, b) => a.name.localeCompare(b.name));
  const openId = props.route.view === "space" ? props.route.id : null;
  const space = openId ? spaces[openId] : undefined;
  const [dialog, setDialog] = useState<null | "channel" | "members">(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (openId) void client.spaceConversations(openId).catch((e) => setError(e.message));
  }, [openId]);

  if (space) {
    const canManage = space.myRole === "OWNER" || space.myRole === "ADMIN";
    return (
      <div class="space-pane" data-testid="space-pane">
        <div class="space-head">
          <button type="button" class="icon" aria-label="All spaces" onClick={() => props.go({ view: "home" })}>
            <Icon name="back" />
          </button>
          <div>
            <strong>{space.name}</strong>
            <div class="muted small">{space.memberCount ?? 1} members</div>
          </div>
        </div>
        {space.description && <p class="muted pad">{space.description}</p>}
        <div class="side-actions">
          <button type="button" class="primary" onClick={() => setDialog("channel")} data-testid="new-channel">
            + Channel
          </button>
          {canManage && (
            <button type="button" onClick={() => setDialog("members")} data-testid="space-add-members">
              Add members
            </button>
          )}
          <button
            type="button"
            onClick={() => {
              if (confirm("Leave this space?")) void client.leaveSpace(space.id).then(() => props.go({ view: "home" }));
            }}
          >
            Leave
          </button>
        </div>
        {error && <div class="error">{error}</div>}
        <ConversationList archived={false} spaceId={space.id} activeId={null} onOpen={(id) => props.go({ view: "chat", id })} />
        {dialog === "channel" && (
          <NewChatDialog
            spaceId={space.id}
            onClose={() => setDialog(null)}
            onCreated={(c) => {
              setDialog(null);
              props.go({ view: "chat", id: c.id });
            }}
          />
        )}
        {dialog === "members" && (
          <Modal title={`Add people to ${space.name}`} onClose={() => setDialog(null)}>
            <UserPicker
              action="Add"
              onPick={(ids) => {
                setDialog(null);
                void client.addSpaceMembers(space.id, ids).catch((e) => setError(e.message));
              }}
            />
          </Modal>
        )}
      </div>
    );
  }
  return (
    <div class="space-pane">
      <div class="side-actions">
        <button type="button" class="primary" onClick={props.onCreate} data-testid="new-space">
          + New space
        </button>
      </div>
      {list.length === 0 ? (
        <p class="muted pad">No spaces yet. A space is a workspace with its own channels.</p>
      ) : (
        <ul class="conv-list">
          {list.map((s) => (
            <li key={s.id}>
              <button type="button" class="conv" onClick={() => props.go({ view: "space", id: s.id })} data-testid="space">
                <Avatar id={s.id} name={s.name} group />
                <span class="conv-main">
                  <span class="conv-title">{s.name}</span>
                  <span class="conv-preview">{s.memberCount ?? 1} members</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ProfileDialog(props: { onClose: () => void; onSettings: () => void }) {
  const client = useClient();
  const me = useChat((s) => s.me);
  const [name, setName] = useState(me?.displayName ?? "");
  const [bio, setBio] = useState(me?.bio ?? "");
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!me) return null;
  return (
    <Modal title="Your profile" onClose={props.onClose}>
      <div class="profile-head">
        <Avatar id={me.id} name={displayName(me)} size={64} src={me.avatar} />
        <div>
          <strong>{displayName(me)}</strong>
          <div class="muted">
            @{me.username} · {me.email}
          </div>
          <label class="link-like">
            Change photo
            <input
              type="file"
              accept="image/png,image/jpeg,image/gif,image/webp"
              hidden
              onChange={(e) => {
                const f = (e.currentTarget as HTMLInputElement).files?.[0];
                if (!f) return;
                setProgress(0);
                client
                  .uploadAvatar(f, setProgress)
                  .then(() => setProgress(null))
                  .catch((err) => {
                    setProgress(null);
                    setError(err.message);
                  });
              }}
            />
          </label>
          {progress !== null && <progress max={1} value={progress} />}
        </div>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          client
            .updateProfile(name.trim() ? { displayName: name.trim(), bio: bio.trim() } : { bio: bio.trim() })
            .then(props.onClose)
            .catch((err) => setError(err.message));
        }}
      >
        <label class="field">
          Display name
          <input value={name} maxLength={100} data-testid="profile-name" onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="field">
          About you
          <textarea rows={3} maxLength={500} value={bio} onInput={(e) => setBio((e.currentTarget as HTMLTextAreaElement).value)} />
        </label>
        {error && <div class="error">{error}</div>}
        <button type="submit" class="primary" data-testid="profile-save">
          Save
        </button>
        <button type="button" class="link" data-testid="profile-settings" onClick={props.onSettings}>
          Password, sessions and your data…
        </button>
      </form>
    </Modal>
  );
}
