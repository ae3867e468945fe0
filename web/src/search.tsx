// Finding a message again: the search box's results (GET /search/messages) and the
// mentions view (GET /mentions). Each result opens its conversation at that message
// (/c/<id>?message=<message id>, the chat view loads the history around it).

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { excerpt, highlight } from "./find";
import { useChat, useClient } from "./hooks";
import { conversationTitle, displayName } from "./store";
import type { Message } from "./types";
import { timeLabel } from "./ui";

export type OpenAt = (conversationId: string, messageId: string) => void;

interface Hit {
  message: Message;
  conversationName: string | null;
}

function Marked(props: { text: string; query: string }) {
  return (
    <>
      {highlight(excerpt(props.text, props.query), props.query).map((p, i) =>
        p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>,
      )}
    </>
  );
}

/** Arrow keys move between the results (and up from the first back to the box). */
function moveFocus(e: KeyboardEvent) {
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
  const here = e.currentTarget as HTMLElement;
  const all = [...(here.closest(".find-pane")?.querySelectorAll<HTMLElement>("[data-find-item]") ?? [])];
  const i = all.indexOf(here);
  const next = e.key === "ArrowDown" ? all[i + 1] : i === 0 ? document.getElementById("search-box") : all[i - 1];
  if (next) {
    e.preventDefault();
    next.focus();
  }
}

/** A list of results with its states: loading, an error, nothing found, a further page. */
function Pane(props: {
  name: string;
  testid: string;
  state: "loading" | "ready" | "empty" | "error";
  error: string;
  empty: string;
  busy: string;
  more: string | null;
  onMore: () => void;
  children: ComponentChildren;
}) {
  const { name, state } = props;
  return (
    <div class="find-pane" data-testid={props.testid} data-state={state} aria-busy={state === "loading"}>
      {state === "error" && (
        <p class="error pad" role="alert" data-testid={`${name}-error`}>
          {props.error}
        </p>
      )}
      {state === "empty" && (
        <p class="muted pad" data-testid={`${name}-empty`} role="status">
          {props.empty}
        </p>
      )}
      {props.children}
      {state === "loading" && <p class="muted pad">{props.busy}</p>}
      {state === "ready" && props.more && (
        <button type="button" class="link-button pad" data-testid={`${name}-more`} onClick={props.onMore}>
          {props.more}
        </button>
      )}
    </div>
  );
}

function HitList(props: { hits: Hit[]; query: string; testid: string; onOpen: OpenAt }) {
  const conversations = useChat((s) => s.conversations);
  const meId = useClient().me?.id;
  return (
    <ul class="find-list">
      {props.hits.map(({ message: m, conversationName }) => {
        const c = conversations[m.conversationId];
        const where = c ? conversationTitle(c, meId) : conversationName || "A conversation";
        return (
          <li key={m.id}>
            <button
              type="button"
              class="find-item"
              data-find-item
              data-testid={props.testid}
              data-id={m.id}
              data-conversation-id={m.conversationId}
              onKeyDown={moveFocus}
              onClick={() => props.onOpen(m.conversationId, m.id)}
            >
              <span class="conv-top">
                <span class="conv-title">{where}</span>
                <span class="conv-time">{timeLabel(m.createdAt)}</span>
              </span>
              <span class="find-sender">{displayName(m.sender ?? { username: "someone" })}</span>
              <span class="find-text" data-testid="result-text">
                <Marked text={m.content} query={props.query} />
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

interface Page {
  hits: Hit[];
  /** Where the next page starts, or null on the last one. */
  next: string | null;
}

/**
 * Pages of results: `fetch(undefined)` for the first, `fetch(next)` for the following.
 * An answer to a question no longer asked (the query changed meanwhile) is dropped.
 */
function usePages(fetch: (from?: string) => Promise<Page>, failed: string, key: string, delay: number) {
  const [hits, setHits] = useState<Hit[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [state, setState] = useState<"loading" | "ready" | "error">("loading");
  const [error, setError] = useState("");
  const asked = useRef(0);
  const load = (from?: string) => {
    const n = ++asked.current;
    setState("loading");
    fetch(from).then(
      (page) => {
        if (n !== asked.current) return;
        setHits((old) => (from ? [...old, ...page.hits] : page.hits));
        setNext(page.next);
        setState("ready");
      },
      (e: Error) => {
        if (n !== asked.current) return;
        setError(e.message || failed);
        setState("error");
      },
    );
  };
  useEffect(() => {
    setHits([]);
    const t = setTimeout(() => load(), delay);
    return () => clearTimeout(t);
  }, [key]);
  return {
    hits,
    next,
    error,
    state: hits.length || state !== "ready" ? state : ("empty" as const),
    more: () => load(next ?? undefined),
  };
}

/** Results of the search box's query; newer first, "More results" pages towards older. */
export function SearchResults(props: { query: string; onOpen: OpenAt }) {
  const client = useClient();
  const pages = usePages(
    async (before) => {
      const page = await client.search(props.query, before);
      const hits = page.messages.map((message) => ({ message, conversationName: null }));
      return { hits, next: page.hasMore ? (hits[hits.length - 1]?.message.id ?? null) : null };
    },
    "The search failed.",
    props.query,
    250,
  );
  return (
    <Pane
      name="search"
      testid="search-results"
      state={pages.state} error={pages.error}
      empty={`No messages match “${props.query}”.`}
      busy="Searching…"
      more={pages.next ? "More results" : null}
      onMore={pages.more}
    >
      <HitList hits={pages.hits} query={props.query} testid="search-result" onOpen={props.onOpen} />
    </Pane>
  );
}

/** Where the user was mentioned, newest first, paged by the server's cursor. */
export function MentionsView(props: { onOpen: OpenAt }) {
  const client = useClient();
  const pages = usePages(
    async (cursor) => {
      const page = await client.mentions(cursor);
      return { hits: page.mentions, next: page.nextCursor };
    },
    "Could not load your mentions.",
    "mentions",
    0,
  );
  return (
    <Pane name="mentions" testid="mentions" state={pages.state} error={pages.error} empty="Nobody has mentioned you yet." busy="Loading…" more={pages.next ? "Older mentions" : null} onMore={pages.more}>
      <HitList hits={pages.hits} query="" testid="mention" onOpen={props.onOpen} />
    </Pane>
  );
}
