import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where `web/build.ts` (and every CDK synthesis) writes the built dashboard. */
export const DASHBOARD_DIST = resolve(import.meta.dirname, '../../web/dist');

/**
 * The dashboard bundle when `web/dist` has not been built here: what a build measured (index.html,
 * one script, one stylesheet, uPlot inlined). Build the dashboard for the figure of this commit.
 */
export const ASSUMED_DASHBOARD_BUNDLE = {
  files: 3,
  bytes: 120 * 1024,
  source: 'assumed: build web/ for the measured size',
} as const;

/** The files CloudFront serves from a built dashboard folder, and their bytes (source maps left out: browsers fetch them only with developer tools open). */
export const measureDashboard = (
  dir: string = DASHBOARD_DIST,
): { files: number; bytes: number; source: string } | undefined => {
  if (!existsSync(dir)) return undefined;
  let files = 0;
  let bytes = 0;
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.map')) {
        files += 1;
        bytes += statSync(path).size;
      }
    }
  };
  walk(dir);
  return files > 0 ? { files, bytes, source: 'measured in web/dist' } : undefined;
};
