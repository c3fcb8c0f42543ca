/** The sign-in screen: asks for the admin token and checks it against the API before keeping it. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { probe } from './session.js';

export function Login({ notice, onSignedIn }: { notice?: string; onSignedIn: (token: string) => void }): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · bluetick';
    input.current?.focus();
  }, []);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const value = token.trim();
    if (value === '') {
      setError('Enter the admin token.');
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const result = await probe(value);
      if (result === 'too-many') {
        setError('Too many wrong tokens from this address; wait a moment and try again.');
      } else if (result === 'refused') {
        setError('That token was refused (401). Use the token the server printed at its first start (kept in <data>/admin-token), or its BLUETICK_ADMIN_TOKEN.');
        input.current?.select();
      } else {
        onSignedIn(value);
      }
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `Could not reach the server: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form class="login-card" onSubmit={(e) => void submit(e)} aria-describedby={notice ? 'login-notice' : undefined} noValidate>
        <div class="brand brand-large">
          <Logo />
          <span>bluetick</span>
        </div>
        <h1>Sign in to the console</h1>
        {notice && (
          <p class="notice" id="login-notice" role="status">
            {notice}
          </p>
        )}
        <label for="token">Admin token</label>
        <input
          id="token"
          ref={input}
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-invalid={error !== undefined}
          aria-describedby={error ? 'token-error token-help' : 'token-help'}
        />
        <p class="help" id="token-help">
          The token this server printed at its first start (read it again with <code>cat data/admin-token</code>), or its{' '}
          <code>BLUETICK_ADMIN_TOKEN</code>. It is kept for this browser tab only.
        </p>
        {error && (
          <p class="field-error" id="token-error" role="alert">
            {error}
          </p>
        )}
        <button class="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

export function Logo(): JSX.Element {
  return (
    <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" class="logo">
      <rect width="32" height="32" rx="8" fill="#075e54" />
      <path d="M6 17l5 5 9-11M14 21l1 1 10-12" fill="none" stroke="#53bdeb" stroke-width="3" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
