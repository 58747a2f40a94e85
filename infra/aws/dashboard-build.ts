/**
 * The dashboard a synthesis deploys: always built from the sources in the tree, whatever is in
 * `web/dist`, with the same build `npm start` serves.
 */
export { buildDashboardInto as buildDashboard, DASHBOARD_DIST, DASHBOARD_ROOT } from '../../web/build.ts';
