/** Entry point: reads `/config.json`, finds the viewer token, and starts the dashboard or asks for a token. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { Dashboard } from './app.ts';
import { type DashboardConfig, parseConfig } from './logic/messages.ts';
import { resolveToken, TOKEN_STORAGE_KEY } from './logic/token.ts';
import { problemView, signInView } from './views/sign-in.ts';

const root = document.getElementById('app') ?? document.body;

const loadConfig = async (): Promise<DashboardConfig> => {
  const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = parseConfig(await response.json());
  if (!config) throw new Error('config.json needs "apiUrl" and "wsUrl"');
  return config;
};

const open = (config: DashboardConfig, token: string) => {
  sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
  root.removeAttribute('data-view');
  const dashboard = new Dashboard({
    root,
    config,
    token,
    onUnauthorized: () =>
      askForToken(config, 'The API refused this token: it may have expired. Paste a new viewer token.'),
    onSignOut: () => askForToken(config),
  });
  void dashboard.start();
};

const askForToken = (config: DashboardConfig, problem?: string) => {
  sessionStorage.removeItem(TOKEN_STORAGE_KEY);
  root.setAttribute('data-view', 'sign-in');
  root.replaceChildren(signInView((token) => open(config, token), problem));
};

const boot = async () => {
  // The token leaves the address and is kept before anything is awaited: a reload or a link
  // followed while config.json is still loading must find it.
  const { token, cleanUrl } = resolveToken(location.href, sessionStorage.getItem(TOKEN_STORAGE_KEY));
  if (cleanUrl !== undefined) history.replaceState(null, '', cleanUrl);
  if (token) sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
  let config: DashboardConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    root.replaceChildren(
      problemView(
        'The dashboard is not configured',
        `It reads the API addresses from config.json next to the page: ${error instanceof Error ? error.message : String(error)}.`,
      ),
    );
    return;
  }
  if (token) open(config, token);
  else askForToken(config);
};

void boot();
