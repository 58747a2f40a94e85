/**
 * The CDK app (`cdk.json` runs it with tsx): `npx cdk deploy --all -c stage=dev`.
 * Context: `stage` (default `dev`), `dashboardOrigin` (default the local dashboard).
 */
import { App } from 'aws-cdk-lib';
import { buildSensorbus } from './sensorbus-app.ts';

const app = new App();
buildSensorbus(app);
app.synth();
