/**
 * The dashboard shell: asks for a token when the API answers 401, learns the caller's role and the
 * server's read-only state from GET /api/v1/session, follows live events, and routes between pages
 * with the History API (the server answers the page for every client route).
 */
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiFailure,
  authHeaders,
  reportUnauthorized,
  storedToken,
  storeToken,
  whenUnauthorized,
} from './api.js';
import { Context, type AppContext } from './app-context.js';
import { followEvents, type LiveState } from './events.js';
import { JobDetailPage } from './pages/job-detail.js';
import { JobsPage } from './pages/jobs.js';
import { LimitsPage } from './pages/limits.js';
import { OverviewPage } from './pages/overview.js';
import { SchedulesPage } from './pages/schedules.js';
import { TasksPage } from './pages/tasks.js';
import { WorkersPage } from './pages/workers.js';
import { useRedrawWhenChanged } from './redraw.js';
import type { ClusterEvent, Session } from './types.js';
import './style.css';

const THEME_KEY = 'nightshift.theme';
// Bursts of events (a bulk enqueue) become one reload of the page's data.
const LIVE_DEBOUNCE_MS = 400;
const RECENT_EVENTS = 30;
// A session request that failed (the server is away, restarting, or behind a proxy that answers 502)
// is tried again after 1 s, doubling to 15 s, as the event stream reconnects.
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 15_000;

const NAV = [
  { path: '/', label: 'Overview' },
  { path: '/jobs', label: 'Jobs' },
  { path: '/schedules', label: 'Schedules' },
  { path: '/tasks', label: 'Tasks' },
  { path: '/workers', label: 'Workers' },
  { path: '/limits', label: 'Limits' },
] as const;

/** A token in the address (`#token=…`, as `npm run demo` prints it) is stored, then removed from it. */
function takeTokenFromAddress(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match?.[1] === undefined) return;
  storeToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

type SessionState =
  | { kind: 'loading' }
  | { kind: 'needs-token'; reason: string }
  | { kind: 'ready'; session: Session }
  | { kind: 'failed'; message: string; retryAt: number };

function App() {
  const [sessionState, setSessionState] = useState<SessionState>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const [path, setPath] = useState(location.pathname);
  const [search, setSearch] = useState(location.search);
  const [live, setLive] = useState<LiveState>('connecting');
  const [liveTick, setLiveTick] = useState(0);
  const [recent, setRecent] = useState<ClusterEvent[]>([]);
  const failures = useRef(0);

  useEffect(() => {
    whenUnauthorized(() =>
      setSessionState({
        kind: 'needs-token',
        reason:
          storedToken() === null
            ? 'This server needs an API token.'
            : 'The token was refused (unknown, revoked or expired).',
      }),
    );
    let ended = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    api<Session>('GET', '/session').then(
      (session) => {
        failures.current = 0;
        if (!ended) setSessionState({ kind: 'ready', session });
      },
      (error: unknown) => {
        if (ended || (error instanceof ApiFailure && error.status === 401)) return;
        const retryInMs = Math.min(FIRST_RETRY_MS * 2 ** failures.current, MAX_RETRY_MS);
        failures.current += 1;
        // A fetch that got no answer at all (connection refused, DNS, offline) rejects with a TypeError.
        const message =
          error instanceof ApiFailure
            ? `The server did not answer as expected: ${error.message}`
            : `Cannot reach the server: ${error instanceof Error ? error.message : String(error)}`;
        setSessionState({ kind: 'failed', message, retryAt: Date.now() + retryInMs });
        retry = setTimeout(() => setAttempt((n) => n + 1), retryInMs);
      },
    );
    return () => {
      ended = true;
      clearTimeout(retry);
    };
  }, [attempt]);

  useEffect(() => {
    const onPop = () => {
      setPath(location.pathname);
      setSearch(location.search);
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const ready = sessionState.kind === 'ready' && sessionState.session.role !== null;
  useEffect(() => {
    if (!ready) return;
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let dropped = false;
    void followEvents(
      authHeaders,
      (event) => {
        setRecent((list) => [event, ...list].slice(0, RECENT_EVENTS));
        timer ??= setTimeout(() => {
          timer = undefined;
          setLiveTick((n) => n + 1);
        }, LIVE_DEBOUNCE_MS);
      },
      (state) => {
        // The token was revoked or expired while the page was open: ask for another, as any 401 does.
        if (state === 'unauthorized') reportUnauthorized();
        // Back after a drop (a server restart): what the page loaded while the server was away failed,
        // and a quiet cluster sends no event that would reload it, so reload once now.
        if (state === 'reconnecting') dropped = true;
        else if (state === 'live' && dropped) {
          dropped = false;
          setLiveTick((n) => n + 1);
        }
        setLive(state);
      },
      stop.signal,
    );
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [ready, attempt]);

  const navigate = (to: string) => {
    const url = new URL(to, location.href);
    // Another page starts at its top; the same page in another view (a job filter, the charts' range)
    // stays where the reader is, as the control they used is there.
    if (url.pathname !== location.pathname) scrollTo(0, 0);
    history.pushState(null, '', to);
    setPath(url.pathname);
    setSearch(url.search);
  };

  const context = useMemo<AppContext | null>(() => {
    if (sessionState.kind !== 'ready') return null;
    const { session } = sessionState;
    const operates = session.role === 'operator' || session.role === 'admin';
    return {
      session,
      canOperate: operates && !session.readOnly,
      canAdminister: session.role === 'admin' && !session.readOnly,
      liveTick,
      recent,
      navigate,
    };
    // navigate only closes over setters.
  }, [sessionState, liveTick, recent]);

  return (
    <>
      <header class="top">
        <a
          class="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          nightshift
        </a>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <a
              key={item.path}
              href={item.path}
              aria-current={isCurrent(item.path, path) ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(item.path);
              }}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <div class="status">
          {context !== null && <LiveBadge state={live} />}
          {context !== null && <RoleBadge session={context.session} />}
          <ThemeToggle />
          {storedToken() !== null && (
            <button
              type="button"
              class="link"
              onClick={() => {
                storeToken(null);
                setAttempt((n) => n + 1);
              }}
            >
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main">
        {sessionState.kind === 'loading' && <p aria-busy="true">Loading…</p>}
        {sessionState.kind === 'failed' && (
          <div class="card">
            <p class="error" role="alert">
              {sessionState.message}
            </p>
            <p aria-busy="true">
              Trying again in <SecondsUntil at={sessionState.retryAt} /> s, and until it answers.{' '}
              <button type="button" onClick={() => setAttempt((n) => n + 1)}>
                Try now
              </button>
            </p>
          </div>
        )}
        {sessionState.kind === 'needs-token' && (
          <TokenForm reason={sessionState.reason} onSaved={() => setAttempt((n) => n + 1)} />
        )}
        {sessionState.kind === 'ready' && sessionState.session.role === null && <NoTokensYet />}
        {context !== null && context.session.role !== null && (
          <Context.Provider value={context}>
            <Page path={path} search={search} />
          </Context.Provider>
        )}
      </main>
    </>
  );
}

function isCurrent(item: string, path: string): boolean {
  return item === '/' ? path === '/' : path === item || path.startsWith(`${item}/`);
}

function Page(props: { path: string; search: string }) {
  const { path, search } = props;
  if (path === '/') return <OverviewPage search={search} />;
  if (path === '/jobs') return <JobsPage search={search} />;
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job?.[1] !== undefined) return <JobDetailPage id={decodeURIComponent(job[1])} />;
  if (path === '/schedules') return <SchedulesPage search={search} />;
  if (path === '/tasks') return <TasksPage />;
  if (path === '/workers') return <WorkersPage />;
  if (path === '/limits') return <LimitsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>The dashboard has no page at {path}.</p>
    </section>
  );
}

function TokenForm(props: { reason: string; onSaved: () => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="card token-form"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim() === '') return;
        storeToken(value.trim());
        props.onSaved();
      }}
    >
      <h1 id="token-title">Sign in</h1>
      <p>{props.reason}</p>
      <label for="token">API token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        placeholder="ns_…"
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
      />
      <p class="hint">
        Create one with <code>nightshift tokens create --role viewer --name me</code>. It is kept in this
        browser only.
      </p>
      <button type="submit">Sign in</button>
    </form>
  );
}

function NoTokensYet() {
  return (
    <section class="card">
      <h1>No API token exists yet</h1>
      <p>
        Every API request is refused until a token exists. Create one, then open the URL it prints or paste it
        here:
      </p>
      <pre>nightshift tokens create --role admin --name me</pre>
      <button type="button" onClick={() => location.reload()}>
        I have created one
      </button>
    </section>
  );
}

/** The whole seconds left until `at` (ms since the epoch), counting down each second to 0. */
function SecondsUntil(props: { at: number }) {
  const left = (now: number) => String(Math.max(0, Math.ceil((props.at - now) / 1_000)));
  const now = useRedrawWhenChanged([left]);
  return <>{left(now)}</>;
}

function LiveBadge(props: { state: LiveState }) {
  const text = {
    connecting: 'connecting…',
    live: 'live',
    reconnecting: 'reconnecting…',
    unavailable: 'no live updates',
    unauthorized: 'signed out',
  }[props.state];
  return (
    <span
      class={`badge live-${props.state}`}
      role="status"
      title={
        props.state === 'unavailable' ? 'this server has no /api/v1/events: reload to refresh' : undefined
      }
    >
      {text}
    </span>
  );
}

function RoleBadge(props: { session: Session }) {
  return (
    <span class="badge role" aria-label="Signed in role">
      {props.session.role}
      {props.session.readOnly ? ' · read-only' : ''}
    </span>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<string | null>(localStorage.getItem(THEME_KEY));
  useEffect(() => {
    if (theme === null) delete document.documentElement.dataset['theme'];
    else document.documentElement.dataset['theme'] = theme;
  }, [theme]);
  const dark = theme === 'dark' || (theme === null && matchMedia('(prefers-color-scheme: dark)').matches);
  return (
    <button
      type="button"
      class="link"
      aria-pressed={dark}
      aria-label="Dark mode"
      onClick={() => {
        const next = dark ? 'light' : 'dark';
        localStorage.setItem(THEME_KEY, next);
        setTheme(next);
      }}
    >
      {dark ? '☾' : '☀'}
    </button>
  );
}

takeTokenFromAddress();
const root = document.getElementById('app');
if (root !== null) render(<App />, root);
