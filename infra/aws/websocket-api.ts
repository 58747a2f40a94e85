import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { STAGE_THROTTLE, type WebSocketRouteSpec } from '../api.ts';
import type { FunctionName } from '../functions.ts';
import { dataRemovalPolicy, lookup, physicalName, physicalNameOfKey, type StageConfig } from './config.ts';
import { acknowledge } from './nag.ts';

/** What `infra/api.ts` declares of the WebSocket API. */
export interface WebSocketApiSpec {
  readonly routeSelectionExpression: string;
  readonly authorizer: { readonly function: FunctionName; readonly identityQueryString: string };
  readonly routes: readonly WebSocketRouteSpec[];
}

/**
 * The WebSocket API dashboards follow. It is made in two steps because the push function needs
 * the stage's callback URL while the routes need the connection functions:
 * the constructor creates the API and its stage, `addRoutes` wires the functions.
 */
export class SensorbusWebSocketApi extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly #spec: WebSocketApiSpec;
  readonly #stageConfig: StageConfig;

  constructor(scope: Construct, id: string, props: { stage: StageConfig; spec: WebSocketApiSpec }) {
    super(scope, id);
    this.#spec = props.spec;
    this.#stageConfig = props.stage;
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: physicalName(props.stage, 'sensorbus-websocket'),
      description: 'sensorbus live updates: subscribe to devices, receive their events',
      routeSelectionExpression: props.spec.routeSelectionExpression,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: dataRemovalPolicy(props.stage),
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stage.name,
      autoDeploy: true,
      throttle: STAGE_THROTTLE.websocket,
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
  }

  /**
   * Every route of the spec. `$connect` runs the REQUEST authorizer on the viewer token in the
   * query string; the other routes ride on the connection it authorized, which is how WebSocket
   * APIs authorize (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html).
   */
  addRoutes(functions: Readonly<Record<FunctionName, lambda.IFunction>>): void {
    const spec = this.#spec;
    const authorizer = new WebSocketLambdaAuthorizer(
      'ConnectAuthorizer',
      lookup(functions, spec.authorizer.function, 'Function'),
      {
        authorizerName: physicalNameOfKey(this.#stageConfig, 'websocketAuthorizer'),
        identitySource: [`route.request.querystring.${spec.authorizer.identityQueryString}`],
      },
    );
    const integrations = new Map<FunctionName, WebSocketLambdaIntegration>();
    for (const route of spec.routes) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new WebSocketLambdaIntegration(
          `${route.function}Integration`,
          lookup(functions, route.function, 'Function'),
        );
        integrations.set(route.function, integration);
      }
      const added = this.api.addRoute(route.routeKey, {
        integration,
        returnResponse: route.routeResponse,
        ...(route.routeKey === '$connect' ? { authorizer } : {}),
      });
      if (route.routeKey !== '$connect') {
        acknowledge(
          added,
          'AwsSolutions-APIG4',
          'WebSocket authorization happens once, at $connect (Lambda authorizer on the viewer token); this route only runs on a connection that passed it.',
        );
      }
    }
  }
}
