import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { dataRemovalPolicy, type StageConfig } from './config.ts';

/**
 * Key administration for the account, spelled out instead of `kms:*`: enough for CloudFormation
 * to create, update, rotate and schedule deletion of the key, and for the account's IAM policies
 * to manage it. No principal may use the key to encrypt or decrypt through this statement.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];

/**
 * A customer-managed key for an SNS topic that an AWS service publishes to. The AWS-managed
 * `alias/aws/sns` key cannot be used there: its key policy does not let CloudWatch alarms or
 * EventBridge generate data keys, so their messages would be dropped
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 */
export const topicKeyFor = (
  scope: Construct,
  id: string,
  stage: StageConfig,
  publishers: readonly string[],
  description: string,
): kms.Key =>
  new kms.Key(scope, id, {
    description,
    enableKeyRotation: true,
    removalPolicy: dataRemovalPolicy(stage),
    policy: new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'KeyAdministration',
          principals: [new iam.AccountRootPrincipal()],
          actions: KEY_ADMIN_ACTIONS,
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'ServicesPublishToTheTopic',
          principals: publishers.map((service) => new iam.ServicePrincipal(service)),
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      ],
    }),
  });
