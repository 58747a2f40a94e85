/**
 * The credentials of every SDK client in a deployed function. The CDK construct bundles the SDK
 * into each function (a single minified file loads in about half the time the runtime's copy
 * takes, spread over dozens of packages) and aliases `@aws-sdk/credential-provider-node`, the
 * SDK's default chain, to this module: Lambda always hands a function its role's credentials in
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * which is the first link of that chain, so the SSO, INI, process, web-identity and instance
 * metadata links (and the STS and SSO clients they carry) never run there and are left out of the
 * bundle. Locally the handlers run from source with the SDK's own chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type EnvInit = Parameters<typeof fromEnv>[0];

export const defaultProvider = (init?: EnvInit) => fromEnv(init);

/** As the SDK's chain answers: credentials with an expiry are refreshed 5 minutes before it. */
export const credentialsWillNeedRefresh = (credentials?: { expiration?: Date }): boolean =>
  credentials?.expiration !== undefined;

export const credentialsTreatedAsExpired = (credentials?: { expiration?: Date }): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
