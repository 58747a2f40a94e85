/**
 * The CDK app (`cdk.json` runs it with tsx): `npx cdk deploy --all -c stage=dev`.
 * Context: `stage` (default `dev`), `dashboardOrigin` (default the stage's CloudFront dashboard).
 * Every synthesis builds the dashboard first (Vite, offline): the service stack deploys the build.
 */
import { App } from 'aws-cdk-lib';
import { buildDashboard } from './dashboard-build.ts';
import { buildSensorbus } from './sensorbus-app.ts';

const app = new App();
buildSensorbus(app, { dashboardFiles: await buildDashboard() });
app.synth();
