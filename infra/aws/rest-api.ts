import { Aws, Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type AuthorizerSpec, REST_STAGE_METRICS, type RouteSpec } from '../api.ts';
import { DEFAULT_FLEET, stageThrottle } from '../fleet.ts';
import type { FunctionName } from '../functions.ts';
import { gatewayResponses } from '../gateway-responses.ts';
import {
  dataRemovalPolicy,
  lookup,
  mapRecord,
  physicalName,
  physicalNameOfKey,
  type StageConfig,
} from './config.ts';
import { acknowledge } from './nag.ts';

export interface SensorbusRestApiProps {
  readonly stage: StageConfig;
  /** The one origin CORS allows: the dashboard's. */
  readonly dashboardOrigin: string;
  readonly routes: readonly RouteSpec[];
  readonly authorizers: Readonly<Record<string, AuthorizerSpec>>;
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
}

/**
 * The REST API of `infra/api.ts`: every route a Lambda proxy integration behind its REQUEST
 * authorizer (cached by its identity header), CORS for the dashboard's origin only, stage
 * throttling, JSON access logs, execution logs for errors, X-Ray, and gateway responses in the
 * contract's error shape.
 */
export class SensorbusRestApi extends Construct {
  readonly api: apigw.RestApi;
  readonly authorizers: Record<string, apigw.RequestAuthorizer>;
  /**
   * The stage's base URL spelled out from the API id and the stage name, for what the stage itself
   * depends on: `api.url` refers to the stage resource, which depends on every method.
   */
  readonly url: string;

  constructor(scope: Construct, id: string, props: SensorbusRestApiProps) {
    super(scope, id);
    const { stage } = props;
    // Stage-wide throttling sized for the stage's fleet (infra/fleet.ts).
    const throttle = stageThrottle(stage.fleet ?? DEFAULT_FLEET);
    const origin = `'${props.dashboardOrigin}'`;

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: dataRemovalPolicy(stage),
    });

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: physicalName(stage, 'sensorbus'),
      description: 'sensorbus REST API: readings in, devices, history and tokens',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: true,
      deployOptions: {
        stageName: stage.name,
        tracingEnabled: true,
        metricsEnabled: REST_STAGE_METRICS.detailed,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [props.dashboardOrigin],
        allowMethods: [...new Set(props.routes.map((route) => route.method))],
        allowHeaders: [
          'Content-Type',
          'X-Correlation-Id',
          ...new Set(Object.values(props.authorizers).map((authorizer) => authorizer.identityHeader)),
        ],
        maxAge: Duration.hours(1),
      },
    });

    this.url = `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${stage.name}/`;

    this.authorizers = mapRecord(
      props.authorizers,
      (spec: AuthorizerSpec, key) =>
        new apigw.RequestAuthorizer(this, `${key}Authorizer`, {
          authorizerName: physicalNameOfKey(stage, `${key}Authorizer`),
          handler: lookup(props.functions, spec.function, 'Function'),
          identitySources: [apigw.IdentitySource.header(spec.identityHeader)],
          resultsCacheTtl: Duration.seconds(spec.cacheTtlSeconds),
        }),
    );

    // One integration per function and transfer mode: a streaming route's integration invokes
    // with InvokeWithResponseStream (its URI ends in /response-streaming-invocations).
    const integrations = new Map<string, apigw.LambdaIntegration>();
    for (const route of props.routes) {
      const mode = route.responseTransferMode ?? 'BUFFERED';
      let integration = integrations.get(`${route.function} ${mode}`);
      if (!integration) {
        integration = new apigw.LambdaIntegration(lookup(props.functions, route.function, 'Function'), {
          proxy: true,
          allowTestInvoke: false,
          responseTransferMode: apigw.ResponseTransferMode[mode],
        });
        integrations.set(`${route.function} ${mode}`, integration);
      }
      this.api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        authorizationType: apigw.AuthorizationType.CUSTOM,
        authorizer: lookup(this.authorizers, route.authorizer, 'Authorizer'),
      });
    }

    for (const response of gatewayResponses(props.routes, props.authorizers)) {
      this.api.addGatewayResponse(response.type, {
        type: apigw.ResponseType.of(response.type),
        ...(response.statusCode ? { statusCode: String(response.statusCode) } : {}),
        responseHeaders: {
          'Access-Control-Allow-Origin': origin,
          Vary: "'Origin'",
          ...mapRecord(response.headers ?? {}, (value) => `'${value}'`),
        },
        templates: { 'application/json': response.template },
      });
    }

    this.#acknowledgeFindings();
  }

  #acknowledgeFindings(): void {
    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      'Bodies are validated by the handlers with the zod schemas of schemas/, which answer the field-level details and the 413/415 statuses the contract specifies; API Gateway model validation would answer in its own shape.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG3',
      'No WAF in this slice: every route is behind a Lambda authorizer and the stage is throttled. A web ACL for this stage and for the dashboard distribution (CFR2) is its own change.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-COG4',
      'Authorization is by design with Lambda REQUEST authorizers (device API keys, HMAC-signed bearer tokens), not Cognito user pools.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "The account-level role API Gateway writes execution and access logs with; AWS's managed policy is the documented one for it.",
    );
  }
}
