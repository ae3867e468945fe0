import { describe, expect, it } from "vitest";
import { AdminApi, deviceLabel, endedText, errorText, isPaused, pauseEnd, query, quietHours, resetToken } from "../src/account";
import { Api, ApiError } from "../src/api";

describe("account helpers", () => {
  it("names browsers and systems from their User-Agent", () => {
    const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const edge = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0.0.0 Mobile Safari/537.36";
    expect(deviceLabel(chrome)).toBe("Chrome on Linux");
    expect(deviceLabel(firefox)).toBe("Firefox on Windows");
    expect(deviceLabel(safari)).toBe("Safari on iOS");
    expect(deviceLabel(edge)).toBe("Edge on macOS");
    expect(deviceLabel(android)).toBe("Chrome on Android");
    expect(deviceLabel("python-httpx/0.28.1")).toBe("An app");
    expect(deviceLabel(null)).toBe("Unknown device");
    expect(deviceLabel("x".repeat(60))).toBe(`${"x".repeat(40)}…`);
  });

  it("checks quiet hours as a pair of clock times", () => {
    expect(quietHours("", "")).toEqual({ quietHoursStart: null, quietHoursEnd: null });
    expect(quietHours("22:00", "07:30")).toEqual({ quietHoursStart: "22:00", quietHoursEnd: "07:30" });
    expect(quietHours("22:00", "")).toMatch(/both/);
    expect(quietHours("24:00", "07:00")).toMatch(/times such as/);
    expect(quietHours("08:00", "08:00")).toMatch(/different/);
  });

  it("ends a pause after some hours or at 8:00 tomorrow", () => {
    const now = new Date(2026, 0, 31, 23, 15);
    expect(pauseEnd("1h", now)).toBe(new Date(2026, 1, 1, 0, 15).toISOString());
    expect(pauseEnd("8h", now)).toBe(new Date(2026, 1, 1, 7, 15).toISOString());
    expect(pauseEnd("tomorrow", now)).toBe(new Date(2026, 1, 1, 8, 0).toISOString());
    expect(isPaused(pauseEnd("1h", now), now.getTime())).toBe(true);
    expect(isPaused(now.toISOString(), now.getTime() + 1)).toBe(false);
    expect(isPaused(null)).toBe(false);
  });

  it("says what the server said, or something plain", () => {
    expect(errorText(new ApiError(403, "wrong_password", "The password is wrong"))).toBe("The password is wrong");
    expect(errorText(new ApiError(429, "rate_limited", "Too many requests"))).toMatch(/wait a moment/);
    expect(errorText(new ApiError(0, "network", ""))).toMatch(/could not be reached/);
    expect(errorText(new TypeError("Failed to fetch"))).toBe("Failed to fetch");
    expect(errorText("?", "Could not save")).toBe("Could not save");
    expect(endedText(0)).toMatch(/No other/);
    expect(endedText(1)).toBe("1 other session was signed out.");
    expect(endedText(3)).toBe("3 other sessions were signed out.");
  });

  it("finds the token of a password-reset link", () => {
    expect(resetToken("#/reset-password?token=abc-DEF_1")).toBe("abc-DEF_1");
    expect(resetToken("#/reset-password?x=1&token=t%2B1")).toBe("t+1");
    expect(resetToken("#/reset-password?token=")).toBeNull();
    expect(resetToken("#/elsewhere?token=abc")).toBeNull();
    expect(resetToken("")).toBeNull();
  });

  it("builds query strings without the empty values", () => {
    expect(query({ q: "ann lee", cursor: null, limit: 20 })).toBe("q=ann+lee&limit=20");
    expect(query({ q: "", cursor: "abc/=", limit: undefined })).toBe("cursor=abc%2F%3D");
  });
});

describe("AdminApi.isAdmin", () => {
  function apiAnswering(status: number): Api {
    const api = new Api();
    api.get = (async () => {
      if (status === 200) return { users: {}, conversations: 0, messagesPerDay: [], storage: {} };
      throw new ApiError(status, status === 404 ? "not_found" : "unavailable", "no");
    }) as Api["get"];
    return api;
  }

  it("is true when /admin answers, false on its 404, and fails on anything else", async () => {
    expect(await new AdminApi(apiAnswering(200)).isAdmin()).toBe(true);
    expect(await new AdminApi(apiAnswering(404)).isAdmin()).toBe(false);
    await expect(new AdminApi(apiAnswering(503)).isAdmin()).rejects.toThrow(ApiError);
  });
});
