import { existsSync } from 'node:fs';
import { buildDashboard } from '../../local-cloud/launcher/web-server.ts';
import { CHROMIUM } from './support.ts';

/** Builds the dashboard once for every browser test (skipped when `web/dist` is fresh). */
export default async function setup(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run scripts/ensure-test-tools.sh (as root) to install Debian's chromium`,
    );
  }
  const result = await buildDashboard();
  if (result.built) console.log(`built the dashboard in ${(result.durationMs / 1000).toFixed(1)} s`);
}
