import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The dashboard's sources, and the folder Vite builds them into (served locally, uploaded to S3 on AWS). */
export const DASHBOARD_ROOT = import.meta.dirname;
export const DASHBOARD_DIST = join(DASHBOARD_ROOT, 'dist');

/**
 * Builds the dashboard with Vite's JS API, the one build both the local web server and the CDK
 * synthesis use. It builds into a sibling folder and swaps it in, so a server already serving the
 * old build never sees a half-written one. Vite runs offline; a build takes about a second.
 */
export const buildDashboardInto = async (
  root = DASHBOARD_ROOT,
  outDir = join(root, 'dist'),
): Promise<string> => {
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
