import { existsSync } from 'node:fs';
import { LOCAL_REGION } from '../../local-cloud/launcher/arns.ts';
import type { EdgeAccess } from './local-cloud.ts';

/** Debian's awscli package (installed by `.ci/run`); the AWS CLI as a developer would use it. */
export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

/** The environment the AWS CLI reaches the edge with: its credentials and region, no pager. */
export const awsCliEnvironment = (edge: EdgeAccess): NodeJS.ProcessEnv => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: edge.awsCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: edge.awsCredentials.secretAccessKey,
  // The AWS CLI v1 (Debian's awscli) reads only AWS_DEFAULT_REGION.
  AWS_DEFAULT_REGION: LOCAL_REGION,
  AWS_REGION: LOCAL_REGION,
  AWS_PAGER: '',
});
