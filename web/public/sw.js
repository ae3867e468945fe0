// hubbub's service worker: shows Web Push notifications and, on a click, opens (or
// focuses) the app at the conversation, at that message. Pushes carry ids, a title and a short preview.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || data.type !== "notification") return;
  event.waitUntil(
    self.registration.showNotification(String(data.title), {
      body: String(data.body ?? ""),
      tag: String(data.conversationId),
      data: {
        url: "/c/" + data.conversationId + "?message=" + encodeURIComponent(data.messageId),
        messageId: data.messageId,
      },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const w of windows) {
        if (new URL(w.url).origin !== self.location.origin) continue;
        await w.focus();
        w.postMessage({ type: "open", url });
        return;
      }
      await self.clients.openWindow(url);
    })(),
  );
});
