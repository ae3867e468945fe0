// HTTP client with silent token refresh.
//
// Where tokens live (see docs/web-client.md):
// - the access token (short-lived JWT) only in this object's memory: never persisted,
//   so it is gone when the tab closes;
// - the refresh token (opaque, single-use, rotated on every refresh) in localStorage,
//   so a reload or a new tab stays signed in. Refreshes take a cross-tab Web Lock and
//   re-read the stored token under it, so two tabs never present the same refresh token
//   (which the server would treat as theft and answer by revoking the session).

import type { Me, UploadedFile } from "./types";

const REFRESH_KEY = "hubbub.refreshToken";
const LOCK_NAME = "hubbub.refresh";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface AuthAnswer {
  user: Me;
  token: string;
  refreshToken: string;
}

type Json = Record<string, unknown> | unknown[];

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

/** Seconds until a JWT expires (its `exp` claim); null when it cannot be read. */
export function secondsLeft(token: string, now = Date.now()): number | null {
  try {
    const payload = token.split(".")[1];
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json.exp === "number" ? json.exp - now / 1000 : null;
  } catch {
    return null;
  }
}

async function parseError(res: Response): Promise<ApiError> {
  try {
    const body = await res.json();
    return new ApiError(res.status, String(body.code ?? "error"), String(body.message ?? res.statusText));
  } catch {
    return new ApiError(res.status, "error", res.statusText || `HTTP ${res.status}`);
  }
}

export class Api {
  accessToken: string | null = null;
  /** Called when the session cannot be renewed (refresh token gone, revoked or reused). */
  onSessionEnded: () => void = () => {};
  private refreshing: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly base = "") {
    // Signing out in another tab removes the shared refresh token: end this tab's session too.
    if (typeof window !== "undefined") {
      window.addEventListener("storage", (e) => {
        if (e.key === REFRESH_KEY && e.newValue === null && this.accessToken) {
          this.accessToken = null;
          this.onSessionEnded();
        }
      });
    }
  }

  get refreshToken(): string | null {
    return storage()?.getItem(REFRESH_KEY) ?? null;
  }

  private setTokens(access: string, refresh: string): void {
    this.accessToken = access;
    storage()?.setItem(REFRESH_KEY, refresh);
    this.scheduleRefresh();
  }

  clear(): void {
    this.accessToken = null;
    storage()?.removeItem(REFRESH_KEY);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Refresh a minute before the access token expires, so no call ever meets a 401. */
  private scheduleRefresh(): void {
    if (this.timer) clearTimeout(this.timer);
    if (!this.accessToken) return;
    const left = secondsLeft(this.accessToken);
    if (left === null) return;
    const wait = Math.max(5, left - 60) * 1000;
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {});
    }, wait);
  }

  /** Trade the stored refresh token for a new pair; one refresh at a time per tab. */
  refresh(): Promise<string> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<string> {
    const run = async (): Promise<string> => {
      const refreshToken = this.refreshToken;
      if (!refreshToken) throw new ApiError(401, "no_session", "Not signed in");
      const res = await fetch(this.base + "/auth/refresh", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken }),
      });
      if (!res.ok) {
        const err = await parseError(res);
        if (res.status === 401) {
          this.clear();
          this.onSessionEnded();
        }
        throw err;
      }
      const body = (await res.json()) as { token: string; refreshToken: string };
      this.setTokens(body.token, body.refreshToken);
      return body.token;
    };
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    return locks ? locks.request(LOCK_NAME, run) : run();
  }

  async request<T>(method: string, path: string, body?: Json, opts: { auth?: boolean } = {}): Promise<T> {
    const auth = opts.auth ?? true;
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers["content-type"] = "application/json";
      if (auth && this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
      return fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    };
    let res = await send();
    if (res.status === 401 && auth && this.refreshToken) {
      await this.refresh();
      res = await send();
    }
    if (!res.ok) throw await parseError(res);
    return (await res.json()) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }
  post<T>(path: string, body: Json = {}): Promise<T> {
    return this.request<T>("POST", path, body);
  }
  put<T>(path: string, body: Json = {}): Promise<T> {
    return this.request<T>("PUT", path, body);
  }
  patch<T>(path: string, body: Json = {}): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }
  del<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  async login(login: string, password: string): Promise<Me> {
    const a = await this.request<AuthAnswer>("POST", "/auth/login", { email: login, password }, { auth: false });
    this.setTokens(a.token, a.refreshToken);
    return a.user;
  }

  async register(username: string, email: string, password: string, displayName?: string): Promise<Me> {
    const body: Record<string, string> = { username, email, password };
    if (displayName) body.displayName = displayName;
    const a = await this.request<AuthAnswer>("POST", "/auth/register", body, { auth: false });
    this.setTokens(a.token, a.refreshToken);
    return a.user;
  }

  /** Resume a stored session (after a reload): refresh, then who am I. */
  async resume(): Promise<Me | null> {
    // A network failure (offline, server restarting) is retried; only a refused
    // session (the server answered) sends the user to the sign-in page.
    for (let attempt = 0; this.refreshToken; attempt++) {
      try {
        await this.refresh();
        const { user } = await this.get<{ user: Me }>("/users/me");
        return user;
      } catch (err) {
        if (err instanceof ApiError) return null;
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
    return null;
  }

  async logout(): Promise<void> {
    const refreshToken = this.refreshToken;
    try {
      if (this.accessToken) await this.request("POST", "/auth/logout", refreshToken ? { refreshToken } : {});
    } catch {
      // The session ends locally whatever the server says.
    } finally {
      this.clear();
    }
  }

  /** multipart upload with progress (XMLHttpRequest: fetch has no upload progress). */
  upload(
    file: Blob,
    filename: string,
    onProgress: (fraction: number) => void,
    retried = false,
    kind: "message_attachment" | "avatar" = "message_attachment",
  ): Promise<UploadedFile> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.base + "/files/upload");
      if (this.accessToken) xhr.setRequestHeader("authorization", `Bearer ${this.accessToken}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new ApiError(0, "network", "Upload failed: network error"));
      xhr.onload = () => {
        if (xhr.status === 401 && !retried && this.refreshToken) {
          this.refresh()
            .then(() => this.upload(file, filename, onProgress, true, kind))
            .then(resolve, reject);
          return;
        }
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // not JSON
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(body as unknown as UploadedFile);
        } else {
          reject(new ApiError(xhr.status, String(body.code ?? "error"), String(body.message ?? "Upload failed")));
        }
      };
      const form = new FormData();
      form.append("file", file, filename);
      form.append("type", kind);
      xhr.send(form);
    });
  }

  /** Fetch a protected file with the bearer token (for URLs that carry no signature). */
  async blobUrl(url: string): Promise<string> {
    const res = await fetch(url, { headers: this.accessToken ? { authorization: `Bearer ${this.accessToken}` } : {} });
    if (!res.ok) throw await parseError(res);
    return URL.createObjectURL(await res.blob());
  }
}
