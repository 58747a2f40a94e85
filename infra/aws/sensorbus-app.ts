import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fleetSize } from '../fleet.ts';
import { stageConfig } from './config.ts';
import { DataStack } from './data-stack.ts';
import { EventsStack } from './events-stack.ts';
import { ServiceStack } from './service-stack.ts';

export interface SensorbusOptions {
  /** The built dashboard (`buildDashboard()` of `dashboard-build.ts`): a synthesis stages it as an asset. */
  readonly dashboardFiles: string;
}

export interface SensorbusStacks {
  readonly data: DataStack;
  readonly events: EventsStack;
  readonly service: ServiceStack;
}

/**
 * The whole sensorbus deployment of one stage, from `infra/topology.ts` and `infra/api.ts`:
 * `<stage>-sensorbus-data`, `<stage>-sensorbus-events` and `<stage>-sensorbus-service` (which also
 * serves the dashboard, see `ServiceStack`). The stacks are environment-agnostic, so `cdk synth`
 * needs no credentials; `cdk deploy` takes the account and region of the caller's credentials.
 * cdk-nag's AWS Solutions checks run on every synthesis: an unacknowledged finding fails it.
 */
export const buildSensorbus = (app: App, options: SensorbusOptions): SensorbusStacks => {
  const stage = {
    ...stageConfig(app.node.tryGetContext('stage'), app.node.tryGetContext('dashboardOrigin')),
    fleet: fleetSize(app.node.tryGetContext('fleetDevices'), app.node.tryGetContext('fleetUploadSeconds')),
  };
  const prefix = `${stage.name}-sensorbus`;

  const data = new DataStack(app, `${prefix}-data`, {
    stage,
    description: `sensorbus ${stage.name}: tables and secrets`,
  });
  const events = new EventsStack(app, `${prefix}-events`, {
    stage,
    description: `sensorbus ${stage.name}: event buses, archive, schema registry, topics`,
  });
  const service = new ServiceStack(app, `${prefix}-service`, {
    stage,
    description: `sensorbus ${stage.name}: functions, REST and WebSocket APIs, rules, schedules, alarms, dashboard`,
    events: { buses: events.buses, topics: events.topics },
    dashboardFiles: options.dashboardFiles,
  });
  service.addStackDependency(data, 'finds the tables and secrets by name');

  Tags.of(app).add('project', 'sensorbus');
  Tags.of(app).add('stage', stage.name);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { data, events, service };
};
