import { join } from 'node:path';
import { Aws, Duration, Lazy, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { dataRemovalPolicy, isDisposable, physicalName, type StageConfig } from './config.ts';
import { acknowledge, acknowledgeWildcardResource } from './nag.ts';
import type { SensorbusRestApi } from './rest-api.ts';

/** The folder of content-hashed files in a Vite build: cached for good, never overwritten. */
export const ASSETS_FOLDER = 'assets';

/** Cache-Control of the hashed assets and of the rest (`index.html`, `config.json`), as the local web server sends them. */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
export const PAGE_CACHE_CONTROL = 'no-cache';

/** How long the access logs of the dashboard (CloudFront and S3) are kept, like the APIs' access logs. */
export const DASHBOARD_LOG_RETENTION = Duration.days(90);

/**
 * The dashboard's Content-Security-Policy, the one the local web server sends
 * (`local-cloud/launcher/web-server.ts`): scripts, styles and config.json from the dashboard's own origin,
 * and network connections only to the REST and WebSocket APIs.
 */
export const contentSecurityPolicy = (apis: readonly string[]): string =>
  [
    "default-src 'self'",
    `connect-src 'self' ${apis.join(' ')}`,
    "img-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');

/**
 * The execution role of CDK's BucketDeployment provider. The provider asks for CloudFront
 * invalidations on "*" (every distribution of the account); this role takes that grant for the
 * dashboard's distribution only, and every other grant as it comes.
 */
class DeploymentRole extends iam.Role {
  readonly #distributionArn: string;

  constructor(scope: Construct, id: string, distributionArn: string) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the built dashboard and its config.json into the dashboard bucket',
    });
    this.#distributionArn = distributionArn;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    const invalidation =
      statement.resources.includes('*') &&
      statement.actions.every((action) => action.startsWith('cloudfront:'));
    return super.addToPrincipalPolicy(
      invalidation ? statement.copy({ resources: [this.#distributionArn] }) : statement,
    );
  }
}

/** Where the deployed dashboard finds the APIs. */
export interface DashboardApis {
  readonly restApi: SensorbusRestApi;
  readonly webSocketStage: apigwv2.WebSocketStage;
}

export interface SensorbusDashboardProps {
  readonly stage: StageConfig;
  /** The built dashboard (`buildDashboard()`): `index.html` and the hashed `assets/`. */
  readonly files: string;
}

/**
 * The dashboard on AWS, served as the local web server serves it: a private S3 bucket (no public
 * access, S3-managed encryption, TLS only, access-logged) read by a CloudFront distribution through
 * Origin Access Control (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html),
 * HTTPS only, with the local server's security headers and Content-Security-Policy.
 *
 * It is made in two steps, like the WebSocket API, because the APIs and the dashboard name each
 * other: the APIs' CORS origin is the distribution's domain, and the distribution's CSP and the
 * deployed `config.json` name the APIs. The constructor creates the distribution (so `url` can
 * be given to the APIs), `connect` completes the CSP and deploys the files with `config.json`.
 */
export class SensorbusDashboard extends Construct {
  readonly bucket: s3.Bucket;
  readonly logsBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly securityHeaders: cloudfront.ResponseHeadersPolicy;
  /** `https://<id>.cloudfront.net`: where the dashboard is, and the origin the APIs allow. */
  readonly url: string;
  readonly #props: SensorbusDashboardProps;
  #apis: readonly string[] | undefined;

  constructor(scope: Construct, id: string, props: SensorbusDashboardProps) {
    super(scope, id);
    this.#props = props;
    const { stage } = props;
    // Server access logs reach the logs bucket through its bucket policy (the delivery AWS recommends), not an ACL.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const disposable = isDisposable(stage);

    // CloudFront standard logs are written with ACLs, so this bucket keeps them enabled
    // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html).
    this.logsBucket = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: DASHBOARD_LOG_RETENTION }],
      removalPolicy: dataRemovalPolicy(stage),
      autoDeleteObjects: disposable,
    });
    acknowledge(
      this.logsBucket,
      'AwsSolutions-S1',
      'This is the bucket the access logs of the dashboard bucket and distribution go to; logging it would log its own log deliveries.',
    );

    this.bucket = new s3.Bucket(this, 'Site', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 'dashboard-bucket/',
      removalPolicy: dataRemovalPolicy(stage),
      autoDeleteObjects: disposable,
    });

    const nameInAccount = `${physicalName(stage, 'sensorbus-dashboard')}-${Aws.REGION}`;
    this.securityHeaders = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: nameInAccount,
      comment: 'sensorbus dashboard: the security headers of the local web server',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: Lazy.string({ produce: () => contentSecurityPolicy(this.#connectedApis()) }),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    const originAccessControl = new cloudfront.S3OriginAccessControl(this, 'OriginAccess', {
      originAccessControlName: nameInAccount,
      description: 'CloudFront reads the sensorbus dashboard bucket, signing with SigV4',
      signing: cloudfront.Signing.SIGV4_ALWAYS,
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `sensorbus ${stage.name} dashboard`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket, { originAccessControl }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.securityHeaders,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logsBucket,
      logFilePrefix: 'distribution/',
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'The dashboard is for whoever holds a viewer token, wherever they are; every API call it makes is authorized by that token.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR2',
      'No WAF in this slice (as for the REST API, APIG3): the distribution serves static files only, and the APIs behind the dashboard authorize and throttle every call.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      "The distribution answers on CloudFront's default *.cloudfront.net certificate, whose security policy is fixed at TLSv1; a minimum of TLSv1.2 comes with a custom domain and its ACM certificate, a deployment choice outside this stack.",
    );
  }

  /**
   * Completes the dashboard once the APIs exist: its CSP lets it connect to exactly them, and the
   * built files are deployed with the `config.json` that points the dashboard at them. The CSP
   * names the REST stage by the API id (`restApi.url`): CDK's `api.url` refers to the stage
   * resource, which depends on every method, and the methods' CORS headers name this distribution.
   */
  connect(apis: DashboardApis): void {
    if (this.#apis) throw new Error('The dashboard is connected to its APIs once');
    // A source ending in "/" allows every path below it (https://www.w3.org/TR/CSP3/#match-paths).
    this.#apis = [apis.restApi.url, `${apis.webSocketStage.url}/`];
    this.#deployFiles({ apiUrl: apis.restApi.api.url, wsUrl: apis.webSocketStage.url });
  }

  #connectedApis(): readonly string[] {
    if (!this.#apis) throw new Error('SensorbusDashboard.connect() was not called: the CSP names the APIs');
    return this.#apis;
  }

  /**
   * Two deployments, run in order: the hashed assets first, kept from deploy to deploy (a page
   * loaded before a deploy still finds its scripts), then `index.html` and `config.json`, which
   * replace the previous ones and invalidate the distribution's cache.
   */
  #deployFiles(config: { apiUrl: string; wsUrl: string }): void {
    const { stage, files } = this.#props;
    const role = new DeploymentRole(this, 'DeploymentRole', this.distribution.distributionArn);
    const logGroup = new logs.LogGroup(this, 'DeploymentLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: dataRemovalPolicy(stage),
    });
    logGroup.grantWrite(role);

    const hashedFiles = new Asset(this, 'HashedFiles', { path: join(files, ASSETS_FOLDER) });
    const pageFiles = new Asset(this, 'PageFiles', { path: files, exclude: [`${ASSETS_FOLDER}/**`] });
    const assets = new BucketDeployment(this, 'DeployAssets', {
      sources: [Source.bucket(hashedFiles.bucket, hashedFiles.s3ObjectKey)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: `${ASSETS_FOLDER}/`,
      prune: false,
      cacheControl: [CacheControl.fromString(ASSET_CACHE_CONTROL)],
      role,
      logGroup,
    });
    const pages = new BucketDeployment(this, 'DeployPages', {
      sources: [
        Source.bucket(pageFiles.bucket, pageFiles.s3ObjectKey),
        Source.jsonData('config.json', config),
      ],
      destinationBucket: this.bucket,
      exclude: [`${ASSETS_FOLDER}/*`],
      cacheControl: [CacheControl.fromString(PAGE_CACHE_CONTROL)],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      role,
      logGroup,
    });
    pages.node.addDependency(assets);

    const provider = Stack.of(this)
      .node.findAll()
      .find(
        (construct): construct is lambda.Function =>
          construct instanceof lambda.Function && construct.role === role,
      );
    if (!provider) throw new Error('No BucketDeployment provider function runs with the deployment role');
    this.#acknowledgeDeploymentFindings(role, provider, pageFiles.bucket);
  }

  #acknowledgeDeploymentFindings(role: iam.IRole, provider: lambda.IFunction, assetBucket: s3.IBucket): void {
    const cdkProvider = "CDK's own BucketDeployment provider";
    acknowledge(
      provider,
      'AwsSolutions-L1',
      `${cdkProvider} (Python, with the AWS CLI layer) runs on the runtime CDK pins for it and is tested with; it runs only during deployments.`,
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      `${cdkProvider} reads the staged dashboard archives and the bucket's objects (GetObject, GetObjectVersion, GetObjectTagging...) through the grants CDK gives it.`,
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      `${cdkProvider} reads the location and settings of the asset and dashboard buckets to sync between them; the grant is on those two buckets only.`,
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:List*]',
      `${cdkProvider} lists the dashboard bucket to compute what to copy and what to prune; the grant is on the asset and dashboard buckets only.`,
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      `${cdkProvider} prunes files of a previous build from the dashboard bucket; the grant is on that bucket only.`,
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:Abort*]',
      `${cdkProvider} aborts its own interrupted multipart uploads to the dashboard bucket; the grant is on that bucket only.`,
    );
    acknowledgeWildcardResource(
      role,
      this.bucket.arnForObjects('*'),
      `${cdkProvider} writes every file of the build, whose names are content hashes known only at build time, into the dashboard bucket.`,
    );
    acknowledgeWildcardResource(
      role,
      assetBucket.arnForObjects('*'),
      `${cdkProvider} reads the dashboard's archives from the CDK bootstrap asset bucket, where their keys are content hashes; CDK grants read on the bucket's objects.`,
    );
  }
}
