/** The console shell: sign-in gate, navigation, and the screen for the current path. */
import type { JSX } from 'preact';
import { AccountHealth, ConsentList } from './account.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Access } from './access.js';
import { getToken, onUnauthorized, setToken } from './api.js';
import { Conversations } from './conversations.js';
import { Deliveries } from './deliveries.js';
import { Inspector } from './inspector.js';
import { LiveFeed } from './live.js';
import { Login, Logo } from './login.js';
import { MessageLookup, MessageTimeline } from './message.js';
import { Overview } from './overview.js';
import { Rejections } from './rejections.js';
import { SearchBox, SearchResults } from './search.js';
import { Link, navigate, useLocation } from './router.js';
import { can, whoami } from './role.js';
import { probe } from './session.js';
import { Templates } from './templates.js';
import { ErrorNote, Loading } from './ui.js';

type Session =
  | { state: 'checking' }
  | { state: 'signed-out'; notice?: string }
  | { state: 'in'; open: boolean; noApi?: boolean }
  | { state: 'error'; error: unknown };

const NAV: Array<{ href: string; label: string; match: (path: string) => boolean; shown?: () => boolean }> = [
  { href: '/', label: 'Overview', match: (p) => p === '/' },
  { href: '/live', label: 'Live feed', match: (p) => p === '/live' || p.startsWith('/events/') },
  { href: '/messages', label: 'Messages', match: (p) => p.startsWith('/messages') },
  { href: '/conversations', label: 'Conversations', match: (p) => p.startsWith('/conversations') },
  { href: '/templates', label: 'Templates', match: (p) => p.startsWith('/templates') },
  { href: '/deliveries', label: 'Deliveries', match: (p) => p.startsWith('/deliveries') },
  { href: '/rejections', label: 'Rejections', match: (p) => p.startsWith('/rejections') },
  // Account state: consent and health.
  { href: '/health', label: 'Account health', match: (p) => p === '/health' },
  { href: '/consent', label: 'Consent', match: (p) => p === '/consent' },
  { href: '/access', label: 'Access', match: (p) => p.startsWith('/access'), shown: () => can().audit || can().admin },
];

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function Screen({ path }: { path: string }): JSX.Element {
  if (!can().read) return <SenderOnly />;
  if (path === '/access') return <Access />;
  if (path === '/search') return <SearchResults />;
  if (path === '/' || path === '') return <Overview />;
  if (path === '/live') return <LiveFeed />;
  if (path.startsWith('/events/')) return <Inspector id={decode(path.slice('/events/'.length))} />;
  if (path === '/messages') return <MessageLookup />;
  if (path.startsWith('/messages/')) return <MessageTimeline id={decode(path.slice('/messages/'.length))} />;
  if (path === '/conversations') return <Conversations />;
  if (path.startsWith('/conversations/')) return <Conversations selected={decode(path.slice('/conversations/'.length))} />;
  if (path === '/templates' || path.startsWith('/templates/')) {
    const key = path.startsWith('/templates/') ? decode(path.slice('/templates/'.length)) : undefined;
    return <Templates {...(key !== undefined ? { selected: key } : {})} />;
  }
  if (path === '/deliveries') return <Deliveries />;
  if (path === '/rejections') return <Rejections />;
  if (path === '/health') return <AccountHealth />;
  if (path === '/consent') return <ConsentList />;
  return (
    <section>
      <h1 id="page-title" tabIndex={-1}>
        Not found
      </h1>
      <p>
        There is no console screen at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}

/** A sender token reads nothing: say so instead of a screen of refusals. */
function SenderOnly(): JSX.Element {
  return (
    <section>
      <h1 id="page-title" tabIndex={-1}>
        Sender token
      </h1>
      <p>
        This token ({whoami().name}) can only tell bluetick what your code sent (<code>POST /api/outbound</code>). Sign in with a viewer, operator or admin
        token to use the console.
      </p>
    </section>
  );
}

export function App(): JSX.Element {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const firstPath = useRef(true);

  const check = async (): Promise<void> => {
    const stored = getToken();
    try {
      const result = await probe(stored ?? null);
      if (result === 'too-many') {
        setSession({ state: 'signed-out', notice: 'Too many wrong tokens from this address; wait a moment before signing in.' });
      } else if (result === 'refused') {
        if (stored !== undefined) setToken(undefined);
        setSession({ state: 'signed-out', ...(stored !== undefined ? { notice: 'The saved token was refused. Sign in again.' } : {}) });
      } else {
        setSession({ state: 'in', open: stored === undefined, noApi: result === 'no-api' });
      }
    } catch (error) {
      setSession({ state: 'error', error });
    }
  };

  useEffect(() => {
    void check();
    return onUnauthorized(() => {
      setToken(undefined);
      setSession({ state: 'signed-out', notice: 'The server refused the token (it may have changed). Sign in again.' });
    });
  }, []);

  // Move focus to the new screen's heading so keyboard and screen reader users land on it.
  useEffect(() => {
    setMenuOpen(false);
    if (firstPath.current) {
      firstPath.current = false;
      return;
    }
    requestAnimationFrame(() => {
      const heading = document.getElementById('page-title');
      if (heading) heading.focus({ preventScroll: false });
      window.scrollTo(0, 0);
    });
  }, [path]);

  if (session.state === 'checking') {
    return (
      <main class="boot" id="main">
        <Loading label="Connecting to bluetick…" />
      </main>
    );
  }
  if (session.state === 'error') {
    return (
      <main class="boot" id="main">
        <ErrorNote error={session.error} what="the console" />
        <button type="button" class="btn" onClick={() => void check()}>
          Try again
        </button>
      </main>
    );
  }
  if (session.state === 'signed-out') {
    return (
      <Login
        {...(session.notice !== undefined ? { notice: session.notice } : {})}
        onSignedIn={(token) => {
          setToken(token);
          setSession({ state: 'in', open: false });
          if (path === '/login') navigate('/', true);
        }}
      />
    );
  }

  const signOut = (): void => {
    setToken(undefined);
    setSession({ state: 'signed-out' });
  };

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand" aria-label="bluetick overview">
          <Logo />
          <span>bluetick</span>
        </Link>
        <button
          type="button"
          class="btn btn-ghost menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        {can().read && <SearchBox />}
        <div class="topbar-end">
          {session.open ? (
            <span class="muted small" title="No admin token is configured; the API answers on loopback only.">
              Open access (loopback)
            </span>
          ) : (
            <span class="muted small role-badge" title={`Signed in with the token ${whoami().name}`} data-role={whoami().role}>
              {whoami().name} · {whoami().role}
            </span>
          )}
          {!session.open && (
            <button type="button" class="btn btn-ghost" onClick={signOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <nav id="nav" class={`sidenav${menuOpen ? ' open' : ''}`} aria-label="Console">
        <ul>
          {NAV.filter((item) => item.shown?.() ?? can().read).map((item) => {
            const current = item.match(path === '/login' ? '/' : path);
            return (
              <li key={item.href}>
                <Link href={item.href} aria-current={current ? 'page' : undefined} class={current ? 'current' : undefined}>
                  {item.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" class="content">
        {session.noApi && (
          <div class="state state-unavailable" role="note">
            <strong>This server has no /api.</strong> <span>The console can only show what the API serves.</span>
          </div>
        )}
        <Screen path={path === '/login' ? '/' : path} />
      </main>
    </div>
  );
}
