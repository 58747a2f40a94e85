import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';
import { buildDashboardInto, DASHBOARD_DIST, DASHBOARD_ROOT } from '../../web/build.ts';
import { closeServer } from '../emulators/shared/servers.ts';

/** The dashboard's sources and its build output; on AWS the same output goes to S3. */
export const webDir = DASHBOARD_ROOT;
export const webDistDir = DASHBOARD_DIST;

/** What the dashboard reads from `/config.json`: where the APIs are, as the browser reaches them. */
export interface DashboardConfig {
  readonly apiUrl: string;
  readonly wsUrl: string;
}

/**
 * A URL the browser can use: a server bound to a loopback or wildcard address is reached as
 * `localhost`, the host the dashboard link and the REST API's CORS origin use.
 */
export const browserUrl = (url: string): string =>
  url.replace(/^(\w+:\/\/)(127\.0\.0\.1|0\.0\.0\.0|\[::1?\])(?=[:/]|$)/, '$1localhost');

const newestMtime = (path: string): number => {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
};

/** Whether `web/dist` was built after the last change to the dashboard's sources. */
export const isDashboardBuildFresh = (root = webDir, outDir = join(root, 'dist')): boolean => {
  const built = join(outDir, 'index.html');
  if (!existsSync(built)) return false;
  const sources = [join(root, 'src'), join(root, 'index.html')].filter((path) => existsSync(path));
  return statSync(built).mtimeMs > Math.max(...sources.map(newestMtime));
};

export interface BuildResult {
  /** False when the existing build was fresh and kept. */
  readonly built: boolean;
  readonly durationMs: number;
  readonly outDir: string;
}

/**
 * Builds the dashboard (`web/build.ts`) unless the output is newer than every source file.
 */
export const buildDashboard = async (
  options: { root?: string; outDir?: string; force?: boolean } = {},
): Promise<BuildResult> => {
  const root = options.root ?? webDir;
  const outDir = options.outDir ?? join(root, 'dist');
  const started = performance.now();
  if (!options.force && isDashboardBuildFresh(root, outDir)) {
    return { built: false, durationMs: performance.now() - started, outDir };
  }
  await buildDashboardInto(root, outDir);
  return { built: true, durationMs: performance.now() - started, outDir };
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebServerOptions {
  readonly port?: number;
  readonly host?: string;
  /** The built dashboard; `web/dist` unless told. */
  readonly distDir?: string;
  /** Read on every request of `/config.json`, so it follows the cloud (e.g. a restarted WebSocket server). */
  readonly config: () => DashboardConfig;
}

export interface WebServer {
  /** Where the dashboard is, as a browser opens it. */
  readonly url: string;
  close(): Promise<void>;
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

/**
 * Serves the built dashboard as S3 + CloudFront would on AWS: static files (hashed assets cached
 * for good, `index.html` revalidated), `index.html` for unknown paths without an extension, and
 * `/config.json` generated from the running cloud's URLs.
 */
export const startWebServer = async (options: WebServerOptions): Promise<WebServer> => {
  const distDir = resolve(options.distDir ?? webDistDir);
  if (!existsSync(join(distDir, 'index.html'))) {
    throw new Error(`No dashboard build in ${distDir}; run buildDashboard() first`);
  }

  const browserConfig = (): DashboardConfig => {
    const config = options.config();
    return { apiUrl: browserUrl(config.apiUrl), wsUrl: browserUrl(config.wsUrl) };
  };

  const securityHeaders = (): Record<string, string> => {
    const config = browserConfig();
    const connect = [originOf(config.apiUrl), originOf(config.wsUrl)].filter(
      (origin): origin is string => origin !== undefined,
    );
    return {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': [
        "default-src 'self'",
        `connect-src 'self' ${[...new Set(connect)].join(' ')}`,
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
      ].join('; '),
    };
  };

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Buffer | string,
  ) => {
    res.writeHead(status, {
      ...securityHeaders(),
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(req, res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'Method Not Allowed');
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://web').pathname);
    } catch {
      return send(req, res, 400, { 'content-type': 'text/plain' }, 'Bad Request');
    }
    if (pathname === '/config.json') {
      const body = JSON.stringify(browserConfig());
      return send(req, res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, body);
    }

    const file = resolve(distDir, `.${pathname}`);
    const inside = relative(distDir, file);
    if (inside.startsWith('..') || inside.includes(`..${sep}`)) {
      return send(req, res, 404, { 'content-type': 'text/plain' }, 'Not Found');
    }
    const candidate = existsSync(file) && statSync(file).isFile() ? file : undefined;
    const target = candidate ?? (extname(pathname) === '' ? join(distDir, 'index.html') : undefined);
    if (!target) return send(req, res, 404, { 'content-type': 'text/plain' }, 'Not Found');

    const body = await readFile(target);
    const immutable = relative(distDir, target).startsWith(`assets${sep}`);
    return send(
      req,
      res,
      200,
      {
        'content-type': CONTENT_TYPES[extname(target)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      },
      body,
    );
  };

  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => done());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    close: () => closeServer(server, 2000),
  };
};
