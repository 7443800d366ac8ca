import { useState, type FormEvent } from 'react';
import { useAuthStore } from '../stores/auth';
import type { AuthMode } from '../stores/ui';

const USERNAME_RE = /^[A-Za-z0-9_]{3,25}$/;

export function AuthForm({
  mode,
  onDone,
  onSwitch,
}: {
  mode: AuthMode;
  onDone: () => void;
  onSwitch: (mode: AuthMode) => void;
}) {
  const login = useAuthStore((s) => s.login);
  const register = useAuthStore((s) => s.register);
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (mode === 'signup') {
      if (!USERNAME_RE.test(username)) {
        setError('Usernames are 3 to 25 letters, digits or underscores.');
        return;
      }
      if (password.length < 8) {
        setError('Use at least 8 characters for the password.');
        return;
      }
    }
    setBusy(true);
    try {
      if (mode === 'login') {
        await login(username.trim(), password);
      } else {
        await register({
          username: username.trim(),
          email: email.trim(),
          password,
          displayName: displayName.trim() || undefined,
        });
      }
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Something went wrong.');
    } finally {
      setBusy(false);
    }
  };

  const isSignup = mode === 'signup';
  return (
    <form onSubmit={submit} className="flex flex-col gap-3" noValidate aria-label={isSignup ? 'Sign up' : 'Log in'}>
      <div>
        <label htmlFor="auth-username" className="field-label">
          Username
        </label>
        <input
          id="auth-username"
          name="username"
          className="input"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={25}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
      </div>
      {isSignup && (
        <>
          <div>
            <label htmlFor="auth-email" className="field-label">
              Email
            </label>
            <input
              id="auth-email"
              name="email"
              type="email"
              className="input"
              autoComplete="email"
              required
              maxLength={254}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          <div>
            <label htmlFor="auth-display" className="field-label">
              Display name <span className="normal-case text-muted">(optional)</span>
            </label>
            <input
              id="auth-display"
              name="displayName"
              className="input"
              autoComplete="nickname"
              maxLength={50}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          </div>
        </>
      )}
      <div>
        <label htmlFor="auth-password" className="field-label">
          Password
        </label>
        <input
          id="auth-password"
          name="password"
          type="password"
          className="input"
          autoComplete={isSignup ? 'new-password' : 'current-password'}
          required
          minLength={isSignup ? 8 : undefined}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {isSignup && <p className="mt-1 text-xs text-muted">At least 8 characters.</p>}
      </div>
      {error && (
        <p role="alert" className="rounded-md bg-live/15 px-3 py-2 text-sm text-[#ff8a80]">
          {error}
        </p>
      )}
      <button type="submit" className="btn-primary mt-1 py-2" disabled={busy || !username || !password || (isSignup && !email)}>
        {busy ? 'Please wait…' : isSignup ? 'Sign Up' : 'Log In'}
      </button>
      <p className="text-center text-sm text-muted">
        {isSignup ? 'Already have an account? ' : 'New here? '}
        <button type="button" className="font-semibold text-brand-soft hover:underline" onClick={() => onSwitch(isSignup ? 'login' : 'signup')}>
          {isSignup ? 'Log in' : 'Sign up'}
        </button>
      </p>
    </form>
  );
}
