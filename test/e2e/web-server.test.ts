import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUrl, startWebServer, type WebServer } from '../../local-cloud/launcher/web-server.ts';

let web: WebServer;
beforeAll(async () => {
  web = await startWebServer({
    config: () => ({ apiUrl: 'http://127.0.0.1:3000', wsUrl: 'ws://127.0.0.1:3001' }),
  });
});
afterAll(async () => {
  await web.close();
});

describe('the dashboard web server', () => {
  it('serves /config.json with URLs a browser on this machine reaches', async () => {
    const response = await fetch(`${web.url}/config.json`);

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ apiUrl: 'http://localhost:3000', wsUrl: 'ws://localhost:3001' });
  });

  it('serves the app, with a policy that lets it reach only the APIs', async () => {
    const response = await fetch(`${web.url}/?token=x`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('<div id="app"');
    expect(response.headers.get('content-security-policy')).toContain(
      "connect-src 'self' http://localhost:3000 ws://localhost:3001",
    );
  });

  it('answers index.html for app paths, 404 for missing files, and never leaves the build folder', async () => {
    expect((await fetch(`${web.url}/devices/greenhouse-1`)).status).toBe(200);
    expect((await fetch(`${web.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${web.url}/%2e%2e/%2e%2e/package.json`)).status).not.toBe(200);
    expect((await fetch(`${web.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('maps loopback and wildcard hosts to localhost and leaves others alone', () => {
    expect(browserUrl('http://127.0.0.1:3000')).toBe('http://localhost:3000');
    expect(browserUrl('ws://0.0.0.0:3001/')).toBe('ws://localhost:3001/');
    expect(browserUrl('https://api.example.com')).toBe('https://api.example.com');
  });
});
