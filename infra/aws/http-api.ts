import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type HttpRouteSpec, INTEGRATION_TIMEOUT_SECONDS } from '../api.ts';
import { DEFAULT_FLEET, stageThrottle } from '../fleet.ts';
import type { FunctionName } from '../functions.ts';
import { dataRemovalPolicy, lookup, physicalName, type StageConfig } from './config.ts';
import { acknowledge } from './nag.ts';

export interface SensorbusHttpApiProps {
  readonly stage: StageConfig;
  readonly spec: {
    readonly payloadFormatVersion: '2.0';
    readonly credentialHeader: string;
    readonly routes: readonly HttpRouteSpec[];
  };
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
}

/**
 * The devices' API of `infra/api.ts` (`httpApi`): an HTTP API whose routes are Lambda proxy
 * integrations with payload format 2.0, on a `$default` stage throttled for the stage's fleet and
 * logging every request as JSON. No CORS (devices are not browsers) and no authorizer: the function
 * checks the device key itself (see `httpApi`).
 */
export class SensorbusHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;

  constructor(scope: Construct, id: string, props: SensorbusHttpApiProps) {
    super(scope, id);
    const { stage, spec } = props;
    const throttle = stageThrottle(stage.fleet ?? DEFAULT_FLEET);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: dataRemovalPolicy(stage),
    });

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: physicalName(stage, 'sensorbus-devices'),
      description: 'sensorbus device API: readings in',
      createDefaultStage: false,
    });
    // HTTP API context variables (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
    const accessLogFormat = AccessLogFormat.custom(
      JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        requestTime: '$context.requestTime',
        httpMethod: '$context.httpMethod',
        routeKey: '$context.routeKey',
        status: '$context.status',
        protocol: '$context.protocol',
        responseLength: '$context.responseLength',
        integrationError: '$context.integrationErrorMessage',
      }),
    );
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: accessLogFormat,
      },
    });

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    for (const route of spec.routes) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${route.function}Integration`,
          lookup(props.functions, route.function, 'Function'),
          {
            payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
            timeout: Duration.seconds(INTEGRATION_TIMEOUT_SECONDS),
          },
        );
        integrations.set(route.function, integration);
      }
      this.api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
      });
    }

    const reason = `The function behind it checks the device key (${spec.credentialHeader}) itself, before it reads the body: an HTTP API Lambda authorizer would refuse a bad key with 403 where the contract answers 401, and would be a second invocation per request, since its answer cannot be cached (revocation must be immediate).`;
    acknowledge(this.api, 'AwsSolutions-APIG4', reason);
  }
}
