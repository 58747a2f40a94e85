import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './config.ts';

/** The dashboard's sources; Vite builds them into `web/dist`, the folder the local web server serves too. */
export const DASHBOARD_ROOT = join(REPO_ROOT, 'web');
export const DASHBOARD_DIST = join(DASHBOARD_ROOT, 'dist');

/**
 * Builds the dashboard with Vite's JS API, with the options the local web server builds it with
 * (same root, `base: './'`, same output folder), so a synthesis deploys exactly what `npm start`
 * serves. It always builds — a deployment ships the sources in the tree, whatever is in `web/dist` —
 * into a sibling folder that is then swapped in, so a local server serving `web/dist` never sees a
 * half-written build. Vite runs offline; the build takes about a second.
 */
export const buildDashboard = async (root = DASHBOARD_ROOT, outDir = join(root, 'dist')): Promise<string> => {
  const { build } = await import('vite');
  const staging = `${outDir}.building-${process.pid}`;
  const previous = `${outDir}.previous-${process.pid}`;
  try {
    await build({
      root,
      base: './',
      configFile: false,
      logLevel: 'warn',
      clearScreen: false,
      build: { outDir: staging, emptyOutDir: true, sourcemap: true, reportCompressedSize: false },
    });
    if (existsSync(outDir)) renameSync(outDir, previous);
    renameSync(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(previous, { recursive: true, force: true });
  }
  return outDir;
};
