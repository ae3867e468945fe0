// The own account and the server administration over HTTP (docs/http-api.md, "Users and
// the own account" and "Administration"), and the small pure helpers their pages use.

import { type Api, ApiError } from "./api";
import type { Me } from "./types";

export type NotifyLevel = "all" | "mentions" | "nothing";

/** The levels, as a select shows them. */
export const LEVELS: [NotifyLevel, string][] = [
  ["all", "Every message"],
  ["mentions", "Mentions only"],
  ["nothing", "Nothing"],
];

export interface SessionInfo {
  id: string;
  userAgent: string | null;
  address: string | null;
  createdAt: string;
  lastUsedAt: string;
  current?: boolean;
}

export interface ExportState {
  status: "none" | "running" | "ready" | "failed";
  id?: string | null;
  url?: string | null;
  size?: number | null;
}

export interface NotificationDefaults {
  private: NotifyLevel;
  group: NotifyLevel;
  space: NotifyLevel;
  pausedUntil: string | null;
  quietHoursStart: string | null;
  quietHoursEnd: string | null;
  timezone: string;
  /** An email digest of unread mentions and direct messages (when the server sends mail). */
  digests: boolean;
}

export interface AdminUser {
  id: string;
  username: string;
  displayName: string | null;
  email: string;
  isActive: boolean;
  isAdmin: boolean;
  isDeleted: boolean;
  isBot?: boolean;
  createdAt: string;
  lastSeenAt: string | null;
}

export interface ServerStats {
  users: { total: number; active: number; deactivated: number; activeLastDay: number };
  conversations: number;
  messagesPerDay: { day: string; messages: number }[];
  storage: { files: number; bytes: number };
}

export interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string;
  action: string;
  targetId: string | null;
  targetName: string | null;
  details: Record<string, unknown>;
  address: string | null;
}

export interface ResetLink {
  userId: string;
  link: string;
  expiresAt: string;
}

/** The calls of the settings page: the signed-in user's own account. */
export class AccountApi {
  constructor(readonly api: Api) {}

  changePassword(currentPassword: string, newPassword: string): Promise<{ ended: number }> {
    return this.api.post("/users/me/password", { currentPassword, newPassword });
  }
  async changeEmail(password: string, email: string): Promise<Me> {
    return (await this.api.post<{ user: Me }>("/users/me/email", { password, email })).user;
  }
  async sessions(): Promise<SessionInfo[]> {
    return (await this.api.get<{ sessions: SessionInfo[] }>("/users/me/sessions")).sessions;
  }
  endSession(id: string): Promise<unknown> {
    return this.api.del(`/users/me/sessions/${encodeURIComponent(id)}`);
  }
  endOtherSessions(): Promise<{ ended: number }> {
    return this.api.post("/users/me/sessions/logout-others");
  }
  notifications(): Promise<NotificationDefaults> {
    return this.api.get("/users/me/notifications");
  }
  updateNotifications(patch: Partial<NotificationDefaults>): Promise<NotificationDefaults> {
    return this.api.patch("/users/me/notifications", patch);
  }
  exportState(): Promise<ExportState> {
    return this.api.get("/users/me/export");
  }
  startExport(): Promise<ExportState> {
    return this.api.post("/users/me/export");
  }
  deleteAccount(password: string): Promise<unknown> {
    return this.api.request("DELETE", "/users/me", { password });
  }
}

/** The calls of the admin page; every one is 404 to anyone but a server administrator. */
export class AdminApi {
  constructor(readonly api: Api) {}

  /** Whether the signed-in user is a server administrator: /admin answers them alone. */
  async isAdmin(): Promise<boolean> {
    try {
      await this.stats();
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }
  stats(): Promise<ServerStats> {
    return this.api.get("/admin/stats");
  }
  users(q: string, cursor: string | null, limit = 20): Promise<{ users: AdminUser[]; nextCursor: string | null }> {
    return this.api.get(`/admin/users?${query({ q: q.trim(), cursor, limit })}`);
  }
  async setActive(id: string, active: boolean): Promise<void> {
    await this.api.post(`/admin/users/${id}/${active ? "reactivate" : "deactivate"}`);
  }
  resetLink(id: string): Promise<ResetLink> {
    return this.api.post(`/admin/users/${id}/reset-link`);
  }
  logoutAll(id: string): Promise<{ ended: number }> {
    return this.api.post(`/admin/users/${id}/logout-all`);
  }
  audit(limit = 20): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    return this.api.get(`/admin/audit?${query({ limit })}`);
  }
}

/** A query string of the given values, leaving out empty ones. */
export function query(values: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  return q.toString();
}

/** What to tell the user about a failed call: the server's message, or a plain fallback. */
export function errorText(err: unknown, fallback = "Something went wrong"): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return "The server could not be reached";
    if (err.status === 429) return "Too many attempts; wait a moment and try again";
    return err.message || fallback;
  }
  return err instanceof Error && err.message ? err.message : fallback;
}

/** A short name for a browser from its User-Agent: "Firefox on Linux", "Chrome on Android". */
export function deviceLabel(userAgent: string | null | undefined): string {
  const ua = userAgent ?? "";
  if (!ua) return "Unknown device";
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /(Chrome|Chromium)\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : /python-httpx|hubbub/i.test(ua)
            ? "An app"
            : null;
  const system = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /Linux|X11/.test(ua)
            ? "Linux"
            : null;
  if (!browser) return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
  return system ? `${browser} on ${system}` : browser;
}

/** The quiet-hours part of a notification change from two time inputs ("" or "HH:MM"). */
export function quietHours(start: string, end: string): { quietHoursStart: string | null; quietHoursEnd: string | null } | string {
  const s = start.trim();
  const e = end.trim();
  if (!s && !e) return { quietHoursStart: null, quietHoursEnd: null };
  const clock = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
  if (!s || !e) return "Give quiet hours both a start and an end, or neither";
  if (!clock.test(s) || !clock.test(e)) return "Quiet hours are times such as 22:00";
  if (s === e) return "Quiet hours start and end at different times";
  return { quietHoursStart: s, quietHoursEnd: e };
}

/** When a pause chosen now ends: for some hours, or until 8:00 tomorrow (local time). */
export function pauseEnd(choice: "1h" | "8h" | "tomorrow", now = new Date()): string {
  if (choice === "tomorrow") {
    const t = new Date(now);
    t.setDate(t.getDate() + 1);
    t.setHours(8, 0, 0, 0);
    return t.toISOString();
  }
  return new Date(now.getTime() + (choice === "1h" ? 1 : 8) * 3_600_000).toISOString();
}

/** Whether a pause is still running. */
export function isPaused(pausedUntil: string | null, now = Date.now()): boolean {
  return pausedUntil !== null && new Date(pausedUntil).getTime() > now;
}

/** A readable "ended N other sessions" sentence. */
export function endedText(ended: number): string {
  if (ended === 0) return "No other session was signed in.";
  return ended === 1 ? "1 other session was signed out." : `${ended} other sessions were signed out.`;
}

/** The token of a password-reset link (`<public url>/#/reset-password?token=…`), if this is one. */
export function resetToken(hash: string): string | null {
  const m = /^#\/reset-password\?(.*)$/.exec(hash);
  return m ? new URLSearchParams(m[1]).get("token") || null : null;
}
