// Code-based routes (TanStack Router).
import { createRootRoute, createRoute, createRouter, Outlet } from '@tanstack/react-router';
import { AuthModal } from './components/AuthModal';
import { Header } from './components/Header';
import { Toasts } from './components/Toasts';
import { AuthPage } from './pages/Auth';
import { BrowsePage, type BrowseTab } from './pages/Browse';
import { CategoryPage } from './pages/Category';
import { ChannelPage } from './pages/Channel';
import { ClipPage } from './pages/Clip';
import { DashboardPage } from './pages/Dashboard';
import { FollowingPage } from './pages/Following';
import { HomePage } from './pages/Home';
import { NotFoundPage } from './pages/NotFound';
import { SearchPage } from './pages/Search';
import { VodPage } from './pages/Vod';

function Layout() {
  return (
    <div className="flex min-h-screen flex-col">
      <Header />
      <main id="main" className="min-w-0 flex-1" tabIndex={-1}>
        <Outlet />
      </main>
      <AuthModal />
      <Toasts />
    </div>
  );
}

const rootRoute = createRootRoute({
  component: Layout,
  notFoundComponent: () => <NotFoundPage />,
});

const indexRoute = createRoute({ getParentRoute: () => rootRoute, path: '/', component: HomePage });

const browseRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/browse',
  validateSearch: (s: Record<string, unknown>): { tab?: BrowseTab } => ({
    tab: s.tab === 'categories' ? 'categories' : s.tab === 'live' ? 'live' : undefined,
  }),
  component: function Browse() {
    const { tab } = browseRoute.useSearch();
    return <BrowsePage tab={tab ?? 'live'} />;
  },
});

const categoryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/category/$slug',
  component: function Category() {
    const { slug } = categoryRoute.useParams();
    return <CategoryPage key={slug} slug={slug} />;
  },
});

const followingRoute = createRoute({ getParentRoute: () => rootRoute, path: '/following', component: FollowingPage });

const searchRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/search',
  validateSearch: (s: Record<string, unknown>): { q?: string } => ({
    q: typeof s.q === 'string' ? s.q : typeof s.q === 'number' ? String(s.q) : undefined,
  }),
  component: function Search() {
    const { q } = searchRoute.useSearch();
    return <SearchPage q={q ?? ''} />;
  },
});

const dashboardRoute = createRoute({ getParentRoute: () => rootRoute, path: '/dashboard', component: DashboardPage });

const authSearch = (s: Record<string, unknown>): { redirect?: string } => ({
  redirect: typeof s.redirect === 'string' ? s.redirect : undefined,
});

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: authSearch,
  component: function Login() {
    const { redirect } = loginRoute.useSearch();
    return <AuthPage mode="login" redirect={redirect} />;
  },
});

const signupRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/signup',
  validateSearch: authSearch,
  component: function Signup() {
    const { redirect } = signupRoute.useSearch();
    return <AuthPage mode="signup" redirect={redirect} />;
  },
});

const vodRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/videos/$id',
  component: function Vod() {
    const { id } = vodRoute.useParams();
    return <VodPage key={id} id={id} />;
  },
});

const clipRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/clip/$slug',
  component: function Clip() {
    const { slug } = clipRoute.useParams();
    return <ClipPage key={slug} slug={slug} />;
  },
});

const CHANNEL_NAME = /^[A-Za-z0-9_]{3,25}$/;

const channelRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/$channel',
  component: function Channel() {
    const { channel } = channelRoute.useParams();
    if (!CHANNEL_NAME.test(channel)) return <NotFoundPage />;
    return <ChannelPage key={channel.toLowerCase()} name={channel} />;
  },
});

const routeTree = rootRoute.addChildren([
  indexRoute,
  browseRoute,
  categoryRoute,
  followingRoute,
  searchRoute,
  dashboardRoute,
  loginRoute,
  signupRoute,
  vodRoute,
  clipRoute,
  channelRoute,
]);

export const router = createRouter({
  routeTree,
  defaultPreload: 'intent',
  scrollRestoration: true,
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
