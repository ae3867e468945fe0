// The integrations page (/settings/integrations): the signed-in user's API tokens, their
// bots with the bots' tokens, incoming webhooks and outgoing event subscriptions with
// their delivery log (docs/integrations.md). A secret or a webhook's URL is shown once,
// when it is made, with a button that copies it.

import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { Api } from "./api";
import { errorText } from "./account";
import { useChat, useClient } from "./hooks";
import { Card, Note, PageHeader, when } from "./settings";
import { displayName } from "./store";
import type { Message, User } from "./types";

export type Scope = "read" | "send" | "manage";
export const SCOPES: Scope[] = ["read", "send", "manage"];

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface Bot {
  user: User & { isBot: boolean };
  ownerId: string | null;
}

export interface Webhook {
  id: string;
  botId: string;
  conversationId: string;
  name: string;
  createdAt: string;
}

export interface WebhookMade {
  webhook: Webhook;
  url: string;
  secret: string;
}

export type EventName = "new_message" | "mention" | "direct" | "command";
export const EVENTS: EventName[] = ["new_message", "mention", "direct", "command"];

export interface EventSubscription {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface Delivery {
  id: string;
  event: string;
  status: "pending" | "delivered" | "dead";
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** The calls of the page (docs/http-api.md, "Tokens, bots and incoming webhooks"). */
export class IntegrationsApi {
  constructor(readonly api: Api) {}

  async tokens(botId?: string): Promise<ApiToken[]> {
    return (await this.api.get<{ tokens: ApiToken[] }>(botId ? `/bots/${botId}/tokens` : "/users/me/tokens")).tokens;
  }
  makeToken(name: string, scopes: Scope[], expiresAt: string | null, botId?: string): Promise<{ token: ApiToken; secret: string }> {
    const body = { name, scopes, ...(expiresAt ? { expiresAt } : {}) };
    return this.api.post(botId ? `/bots/${botId}/tokens` : "/users/me/tokens", body);
  }
  revokeToken(id: string, botId?: string): Promise<unknown> {
    return this.api.del(botId ? `/bots/${botId}/tokens/${id}` : `/users/me/tokens/${id}`);
  }
  async bots(): Promise<Bot[]> {
    return (await this.api.get<{ bots: Bot[] }>("/bots")).bots;
  }
  async makeBot(username: string, displayName: string): Promise<Bot> {
    const body = { username, ...(displayName ? { displayName } : {}) };
    return (await this.api.post<{ bot: Bot }>("/bots", body)).bot;
  }
  deleteBot(id: string): Promise<unknown> {
    return this.api.del(`/bots/${id}`);
  }
  async webhooks(botId: string): Promise<Webhook[]> {
    return (await this.api.get<{ webhooks: Webhook[] }>(`/bots/${botId}/webhooks`)).webhooks;
  }
  makeWebhook(botId: string, conversationId: string, name: string): Promise<WebhookMade> {
    return this.api.post(`/bots/${botId}/webhooks`, { conversationId, name });
  }
  rotateWebhook(botId: string, id: string): Promise<WebhookMade> {
    return this.api.post(`/bots/${botId}/webhooks/${id}/rotate`);
  }
  deleteWebhook(botId: string, id: string): Promise<unknown> {
    return this.api.del(`/bots/${botId}/webhooks/${id}`);
  }
  async subscriptions(botId: string): Promise<EventSubscription[]> {
    return (await this.api.get<{ subscriptions: EventSubscription[] }>(`/bots/${botId}/event-subscriptions`)).subscriptions;
  }
  subscribe(botId: string, url: string, events: EventName[]): Promise<{ subscription: EventSubscription; secret: string }> {
    return this.api.post(`/bots/${botId}/event-subscriptions`, { url, events });
  }
  unsubscribe(botId: string, id: string): Promise<unknown> {
    return this.api.del(`/bots/${botId}/event-subscriptions/${id}`);
  }
  sendTest(botId: string, id: string): Promise<unknown> {
    return this.api.post(`/bots/${botId}/event-subscriptions/${id}/test`);
  }
  async deliveries(botId: string, id: string): Promise<Delivery[]> {
    return (await this.api.get<{ deliveries: Delivery[] }>(`/bots/${botId}/event-subscriptions/${id}/deliveries`)).deliveries;
  }
  /** Post a test message through a webhook's URL, as any caller would (no token); to
   * this page's own server, whatever host the URL names (a proxy's, say). */
  async testWebhook(url: string): Promise<Message> {
    const response = await fetch(new URL(url).pathname, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: "A test from the integrations page", username: "test" }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body?.message ?? `HTTP ${response.status}`);
    return body.message as Message;
  }
}

type NoteState = { ok: boolean; text: string } | null;

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

type Run = (action: () => Promise<string | null | void>) => Promise<void>;

/** A card's list, loaded and loaded again after each action; an action's outcome (its
 * text, or the server's error) as the card's note. */
function useList<T>(load: () => Promise<T[]>, key: string): [T[], NoteState, Run] {
  const [items, setItems] = useState<T[]>([]);
  const [note, setNote] = useState<NoteState>(null);
  const reload = () => load().then(setItems, (e) => setNote({ ok: false, text: errorText(e) }));
  useEffect(() => {
    void reload();
  }, [key]);
  const run: Run = async (action) => {
    setNote(null);
    try {
      const text = await action();
      if (text) setNote({ ok: true, text });
      await reload();
    } catch (e) {
      setNote({ ok: false, text: errorText(e) });
    }
  };
  return [items, note, run];
}

export function IntegrationsPage(props: { onBack: () => void }) {
  const client = useClient();
  const api = useMemo(() => new IntegrationsApi(client.api), [client]);
  return (
    <section class="chat page" data-testid="integrations-page">
      <PageHeader title="Integrations" onBack={props.onBack} />
      <div class="page-body">
        <TokensCard api={api} title="My API tokens" testid="tokens-card" />
        <BotsCard api={api} />
      </div>
    </section>
  );
}

/** A secret shown once, with a button that copies it. */
function Secret(props: { label: string; text: string; testid: string; children?: ComponentChildren }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" data-testid={props.testid}>
      <p class="muted small">{props.label} It is shown this once.</p>
      <code data-testid={`${props.testid}-text`}>{props.text}</code>
      <button
        type="button"
        data-testid={`${props.testid}-copy`}
        onClick={() => {
          void navigator.clipboard?.writeText(props.text).then(() => setCopied(true), () => setCopied(false));
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      {props.children}
    </div>
  );
}

/** A card's form: submitting it runs `action` as the card's action (its note, its list
 * loaded again). */
function InlineForm(props: { run: Run; action: () => Promise<string | null | void>; children: ComponentChildren }) {
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void props.run(props.action);
      }}
    >
      {props.children}
    </form>
  );
}

/** Checkboxes choosing some of `options` (a token's scopes, a subscription's events). */
function Checks<T extends string>(props: { legend: string; options: T[]; chosen: T[]; onChange: (next: T[]) => void; testid: string }) {
  return (
    <fieldset class="scopes">
      <legend class="small">{props.legend}</legend>
      {props.options.map((o) => (
        <label key={o} class="check">
          <input
            type="checkbox"
            checked={props.chosen.includes(o)}
            data-testid={`${props.testid}-${o}`}
            onChange={(e) => props.onChange((e.currentTarget as HTMLInputElement).checked ? [...props.chosen, o] : props.chosen.filter((x) => x !== o))}
          />
          {o}
        </label>
      ))}
    </fieldset>
  );
}

function TokensCard(props: { api: IntegrationsApi; title: string; testid: string; botId?: string }) {
  const [tokens, note, run] = useList(() => props.api.tokens(props.botId), props.botId ?? "me");
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["read"]);
  const [expires, setExpires] = useState("");
  const [made, setMade] = useState<string | null>(null);
  return (
    <Card title={props.title} testid={props.testid} wide>
      <ul class="plain-list" data-testid={`${props.testid}-list`}>
        {tokens.map((t) => (
          <li key={t.id} data-testid="token-row">
            <strong>{t.name}</strong> <span class="muted small">{t.scopes.join(", ")}</span>
            <span class="muted small">
              {" "}
              · last used {when(t.lastUsedAt)} · expires {t.expiresAt ? when(t.expiresAt) : "never"}
            </span>
            <button type="button" class="link danger" data-testid="revoke-token" onClick={() => void run(() => props.api.revokeToken(t.id, props.botId).then(() => null))}>
              Revoke
            </button>
          </li>
        ))}
        {tokens.length === 0 && <li class="muted">No tokens.</li>}
      </ul>
      <InlineForm
        run={run}
        action={async () => {
          const at = expires ? new Date(`${expires}T23:59:59`).toISOString() : null;
          const got = await props.api.makeToken(name.trim(), scopes, at, props.botId);
          setMade(got.secret);
          setName("");
        }}
      >
        <label class="field grow">
          Name
          <input required maxLength={100} value={name} data-testid="token-name" onInput={(e) => setName(value(e))} />
        </label>
        <Checks legend="Scopes" options={SCOPES} chosen={scopes} onChange={setScopes} testid="scope" />
        <label class="field">
          Expires (optional)
          <input type="date" value={expires} data-testid="token-expires" onInput={(e) => setExpires(value(e))} />
        </label>
        <button type="submit" class="primary" disabled={scopes.length === 0} data-testid="make-token">
          Make token
        </button>
      </InlineForm>
      <Note note={note} testid={`${props.testid}-note`} />
      {made && <Secret label="The new token: use it as Authorization: Bearer." text={made} testid="token-secret" />}
    </Card>
  );
}

function BotsCard(props: { api: IntegrationsApi }) {
  const [bots, note, run] = useList(() => props.api.bots(), "bots");
  const [username, setUsername] = useState("");
  const [shown, setShown] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Card title="My bots" testid="bots-card" wide>
      <p class="muted small">A bot is a user you own: add it to a conversation like anyone, then give it a token or a webhook.</p>
      <ul class="plain-list">
        {bots.map((b) => (
          <li key={b.user.id} data-testid="bot-row">
            <strong>{displayName(b.user)}</strong> <span class="bot-badge">BOT</span> <span class="muted small">@{b.user.username}</span>
            <button type="button" class="link" data-testid="open-bot" onClick={() => setOpen(open === b.user.id ? null : b.user.id)}>
              {open === b.user.id ? "Close" : "Tokens and webhooks"}
            </button>
            <button type="button" class="link danger" data-testid="delete-bot" onClick={() => void run(() => props.api.deleteBot(b.user.id).then(() => null))}>
              Delete
            </button>
            {open === b.user.id && (
              <div class="bot-detail">
                <TokensCard api={props.api} title={`Tokens of ${displayName(b.user)}`} testid="bot-tokens-card" botId={b.user.id} />
                <WebhooksCard api={props.api} bot={b} />
                <SubscriptionsCard api={props.api} bot={b} />
              </div>
            )}
          </li>
        ))}
        {bots.length === 0 && <li class="muted">No bots.</li>}
      </ul>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await props.api.makeBot(username.trim(), shown.trim());
            setUsername("");
            setShown("");
          });
        }}
      >
        <label class="field grow">
          Username
          <input required minLength={3} maxLength={50} pattern="[A-Za-z0-9_.\-]+" value={username} data-testid="bot-username" onInput={(e) => setUsername(value(e))} />
        </label>
        <label class="field grow">
          Display name
          <input maxLength={100} value={shown} data-testid="bot-display-name" onInput={(e) => setShown(value(e))} />
        </label>
        <button type="submit" class="primary" data-testid="make-bot">
          Make bot
        </button>
      </form>
      <Note note={note} testid="bots-note" />
    </Card>
  );
}

function WebhooksCard(props: { api: IntegrationsApi; bot: Bot }) {
  const botId = props.bot.user.id;
  const conversations = useChat((s) => s.conversations);
  const [hooks, note, run] = useList(() => props.api.webhooks(botId), botId);
  const [conversationId, setConversationId] = useState("");
  const [name, setName] = useState("");
  const [made, setMade] = useState<WebhookMade | null>(null);
  const titleOf = (id: string) => conversations[id]?.name ?? "a conversation";
  const choices = Object.values(conversations).filter((c) => c.type !== "PRIVATE");
  return (
    <Card title={`Webhooks of ${displayName(props.bot.user)}`} testid="webhooks-card" wide>
      <ul class="plain-list">
        {hooks.map((h) => (
          <li key={h.id} data-testid="webhook-row">
            <strong>{h.name}</strong> <span class="muted small">into {titleOf(h.conversationId)}</span>
            <button type="button" class="link" data-testid="rotate-webhook" onClick={() => void run(async () => (setMade(await props.api.rotateWebhook(botId, h.id)), "A new URL: the old one no longer works."))}>
              New URL
            </button>
            <button type="button" class="link danger" data-testid="delete-webhook" onClick={() => void run(() => props.api.deleteWebhook(botId, h.id).then(() => null))}>
              Delete
            </button>
          </li>
        ))}
        {hooks.length === 0 && <li class="muted">No webhooks.</li>}
      </ul>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            setMade(await props.api.makeWebhook(botId, conversationId, name.trim()));
            setName("");
            return null;
          });
        }}
      >
        <label class="field grow">
          Conversation (the bot must be in it)
          <select required value={conversationId} data-testid="webhook-conversation" onChange={(e) => setConversationId((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">Choose…</option>
            {choices.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name ?? c.id}
              </option>
            ))}
          </select>
        </label>
        <label class="field grow">
          Name
          <input required maxLength={100} value={name} data-testid="webhook-name" onInput={(e) => setName(value(e))} />
        </label>
        <button type="submit" class="primary" data-testid="make-webhook">
          Make webhook
        </button>
      </form>
      <Note note={note} testid="webhooks-note" />
      {made && (
        <Secret label="The webhook's URL: POST {text} or {content} to it." text={made.url} testid="webhook-url">
          <button
            type="button"
            data-testid="test-webhook"
            onClick={() => void run(async () => (await props.api.testWebhook(made.url), "Test message posted."))}
          >
            Test
          </button>
        </Secret>
      )}
    </Card>
  );
}

/** The bot's outgoing webhooks: events sent to a URL, each endpoint's delivery log. */
function SubscriptionsCard(props: { api: IntegrationsApi; bot: Bot }) {
  const botId = props.bot.user.id;
  const [subs, note, run] = useList(() => props.api.subscriptions(botId), botId);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<EventName[]>(["mention"]);
  const [secret, setSecret] = useState<string | null>(null);
  const [logOf, setLogOf] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const showLog = (id: string) => {
    setLogOf(id);
    setTick((t) => t + 1);
  };
  return (
    <Card title={`Outgoing webhooks of ${displayName(props.bot.user)}`} testid="subscriptions-card" wide>
      <p class="muted small">Events the bot sees, sent to your URL and signed with the secret.</p>
      <ul class="plain-list">
        {subs.map((s) => (
          <li key={s.id} data-testid="subscription-row">
            <strong class="break">{s.url}</strong> <span class="muted small">{s.events.join(", ")}</span>
            <button type="button" class="link" data-testid="send-test" onClick={() => void run(async () => (await props.api.sendTest(botId, s.id), showLog(s.id), "Test event sent."))}>
              Send test
            </button>
            <button type="button" class="link" data-testid="show-log" onClick={() => (logOf === s.id ? setLogOf(null) : showLog(s.id))}>
              {logOf === s.id ? "Hide log" : "Delivery log"}
            </button>
            <button
              type="button"
              class="link danger"
              data-testid="delete-subscription"
              onClick={() => void run(async () => (await props.api.unsubscribe(botId, s.id), logOf === s.id && setLogOf(null), null))}
            >
              Delete
            </button>
            {logOf === s.id && <DeliveryLog api={props.api} botId={botId} id={s.id} tick={tick} />}
          </li>
        ))}
        {subs.length === 0 && <li class="muted">No outgoing webhooks.</li>}
      </ul>
      <InlineForm
        run={run}
        action={async () => {
          setSecret((await props.api.subscribe(botId, url.trim(), events)).secret);
          setUrl("");
        }}
      >
        <label class="field grow">
          URL
          <input required type="url" maxLength={2048} value={url} data-testid="subscription-url" onInput={(e) => setUrl(value(e))} />
        </label>
        <Checks legend="Events" options={EVENTS} chosen={events} onChange={setEvents} testid="event" />
        <button type="submit" class="primary" disabled={events.length === 0} data-testid="make-subscription">
          Add outgoing webhook
        </button>
      </InlineForm>
      <Note note={note} testid="subscriptions-note" />
      {secret && <Secret label="The signing secret: check each delivery's signature with it." text={secret} testid="subscription-secret" />}
    </Card>
  );
}

/** One subscription's deliveries, newest first: loaded when opened, after a test and on
 * "Refresh" (a delivery is made in the background, so the log is read on demand). */
function DeliveryLog(props: { api: IntegrationsApi; botId: string; id: string; tick: number }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const load = () =>
    props.api.deliveries(props.botId, props.id).then(
      (got) => (setRows(got), setFailed(null)),
      (e) => setFailed(errorText(e)),
    );
  useEffect(() => {
    void load();
  }, [props.id, props.tick]);
  return (
    <div class="delivery-log" data-testid="delivery-log">
      <button type="button" class="link" data-testid="refresh-log" onClick={() => void load()}>
        Refresh
      </button>
      {failed && <p class="error small">{failed}</p>}
      <ul class="plain-list">
        {(rows ?? []).map((d) => (
          <li key={d.id} data-testid="delivery-row" data-status={d.status} class={d.status === "delivered" ? "" : "failing"}>
            <strong>{d.event}</strong> <span data-testid="delivery-status">{d.status}</span>
            <span class="muted small">
              {" "}
              · {d.attempts} {d.attempts === 1 ? "attempt" : "attempts"} · {when(d.createdAt)}
            </span>
            {d.lastError && (
              <span class="delivery-error small" data-testid="delivery-error">
                {" "}
                {d.lastError}
              </span>
            )}
          </li>
        ))}
        {rows?.length === 0 && <li class="muted">No deliveries yet.</li>}
      </ul>
    </div>
  );
}
