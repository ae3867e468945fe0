import { createContext } from "preact";
import { useContext, useEffect, useReducer, useRef } from "preact/hooks";
import type { ChatClient } from "./client";
import type { ChatState } from "./store";

export const ClientContext = createContext<ChatClient | null>(null);

export function useClient(): ChatClient {
  const c = useContext(ClientContext);
  if (!c) throw new Error("no ChatClient");
  return c;
}

/** Subscribe to a slice of the store; re-render only when that slice changes identity. */
export function useChat<T>(select: (s: ChatState) => T): T {
  const client = useClient();
  const [, force] = useReducer((x: number) => x + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(client.store.state);
  const valueRef = useRef(value);
  valueRef.current = value;
  useEffect(
    () =>
      client.store.subscribe(() => {
        if (!Object.is(selectRef.current(client.store.state), valueRef.current)) force(0);
      }),
    [client],
  );
  return value;
}
