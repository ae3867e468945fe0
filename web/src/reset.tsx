// Forgotten passwords on the sign-in screen: ask for a reset email, and the page a reset
// link opens (`/#/reset-password?token=…`, from an email or an administrator) to choose
// a new password (docs/http-api.md, Auth).

import { useState } from "preact/hooks";
import { errorText } from "./account";
import type { Api } from "./api";

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

export function ForgotPasswordForm(props: { api: Api; onBack: () => void }) {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="auth-form"
      data-testid="forgot-form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        props.api
          .request<{ message: string }>("POST", "/auth/password-reset", { email: email.trim() }, { auth: false })
          .then((a) => setSent(a.message), (err) => setError(errorText(err)))
          .finally(() => setBusy(false));
      }}
    >
      <p class="muted">We send a link to choose a new password to your account's email address.</p>
      <label>
        Email
        <input name="email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(value(e))} />
      </label>
      {sent && (
        <p class="ok-note" role="status" data-testid="forgot-sent">
          {sent}
        </p>
      )}
      {error && (
        <div class="error" role="alert">
          {error}
        </div>
      )}
      <button type="submit" class="primary" disabled={busy}>
        Send the link
      </button>
      <button type="button" class="link" onClick={props.onBack}>
        Back to sign in
      </button>
    </form>
  );
}

export function ResetPasswordForm(props: { api: Api; token: string; onDone: () => void }) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="auth-form"
      data-testid="reset-form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        props.api
          .request("POST", "/auth/password-reset/confirm", { token: props.token, newPassword: password }, { auth: false })
          .then(props.onDone, (err) => setError(errorText(err)))
          .finally(() => setBusy(false));
      }}
    >
      <p class="muted">Choose a new password. Every session of your account ends.</p>
      <label>
        New password
        <input name="new-password" type="password" autoComplete="new-password" required minLength={8} maxLength={128} value={password} onInput={(e) => setPassword(value(e))} />
      </label>
      {error && (
        <div class="error" role="alert" data-testid="reset-error">
          {error}
        </div>
      )}
      <button type="submit" class="primary" disabled={busy} data-testid="reset-submit">
        Set the new password
      </button>
    </form>
  );
}
