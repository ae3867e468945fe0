// Notifications: in the page (a `notification` socket event while the tab is in the
// background or another conversation is open) and by Web Push (the service worker,
// public/sw.js, when no tab is open). Asked for only when the user turns them on.
import type { Api } from "./api";

const KEY = "hubbub.notifications";

export type NotificationEvent = {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  title: string;
  body: string;
  mentioned: boolean;
};

export function notificationsSupported(): boolean {
  return "Notification" in window && "serviceWorker" in navigator;
}

export function notificationsOn(): boolean {
  return notificationsSupported() && localStorage.getItem(KEY) === "on" && Notification.permission === "granted";
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Registers the service worker (clicks on notifications open the conversation). */
export async function registerWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!notificationsSupported()) return null;
  try {
    await navigator.serviceWorker.register("/sw.js");
    return await navigator.serviceWorker.ready;
  } catch {
    return null;
  }
}

/** Asks for permission and registers the service worker; then subscribes this browser
 * to Web Push in the background (a browser without a reachable push service still
 * shows notifications while the app is open). False: refused. */
export async function turnOn(api: Api): Promise<boolean> {
  if (!notificationsSupported()) return false;
  if ((await Notification.requestPermission()) !== "granted") return false;
  localStorage.setItem(KEY, "on");
  const registration = await registerWorker();
  if (registration) void subscribePush(api, registration).catch(() => undefined);
  return true;
}

async function subscribePush(api: Api, registration: ServiceWorkerRegistration): Promise<void> {
  const { publicKey } = await api.get<{ publicKey: string }>("/push/vapid-public-key");
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }));
  await api.post("/users/me/push-subscriptions", subscription.toJSON() as Record<string, unknown>);
}

export async function turnOff(api: Api): Promise<void> {
  localStorage.removeItem(KEY);
  const registration = notificationsSupported() ? await navigator.serviceWorker.getRegistration() : undefined;
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  try {
    const { subscriptions } = await api.get<{ subscriptions: { id: string; endpoint: string }[] }>("/users/me/push-subscriptions");
    for (const s of subscriptions) {
      if (s.endpoint === subscription.endpoint) await api.request("DELETE", `/users/me/push-subscriptions/${s.id}`);
    }
  } finally {
    await subscription.unsubscribe();
  }
}

/** Shows a `notification` event unless its conversation is open in a visible tab. */
export async function showNotification(e: NotificationEvent): Promise<void> {
  // Said on the console (debug) so that a notification not shown can be told from one lost.
  if (!notificationsOn()) return console.debug("hubbub: notifications are off:", e.messageId);
  if (document.visibilityState === "visible" && location.pathname === `/c/${e.conversationId}`) {
    return console.debug("hubbub: its conversation is open:", e.messageId);
  }
  const options: NotificationOptions = {
    body: e.body,
    tag: e.conversationId,
    data: { url: `/c/${e.conversationId}?message=${encodeURIComponent(e.messageId)}`, messageId: e.messageId },
  };
  const registration = await navigator.serviceWorker.getRegistration();
  if (registration) await registration.showNotification(e.title, options);
  else new Notification(e.title, options);
}

/** A click on a notification: the service worker asks the open tab to show the conversation. */
export function onOpenRequest(open: (path: string) => void): () => void {
  if (!notificationsSupported()) return () => {};
  const on = (event: MessageEvent) => {
    const data = event.data as { type?: string; url?: string } | null;
    if (data?.type === "open" && typeof data.url === "string" && data.url.startsWith("/c/")) open(data.url);
  };
  navigator.serviceWorker.addEventListener("message", on);
  return () => navigator.serviceWorker.removeEventListener("message", on);
}
