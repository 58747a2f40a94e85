import { AwsError } from '../shared/aws-protocol.ts';

/**
 * Secrets Manager's `GetSecretValue` for the local cloud, serving the secrets `npm start`
 * generated into the git-ignored data folder
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
 */
export class LocalSecretsManager {
  readonly #secrets: ReadonlyMap<string, string>;
  readonly #region: string;
  readonly #accountId: string;
  readonly #created = new Date();

  constructor(options: { secrets: Record<string, string>; region: string; accountId: string }) {
    this.#secrets = new Map(Object.entries(options.secrets));
    this.#region = options.region;
    this.#accountId = options.accountId;
  }

  arn(name: string): string {
    return `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}`;
  }

  async handle(operation: string, input: Record<string, unknown>): Promise<unknown> {
    if (operation !== 'GetSecretValue') {
      throw new AwsError(
        'UnknownOperationException',
        `Operation ${operation} is not supported by the local Secrets Manager`,
      );
    }
    const id = String(input.SecretId ?? '');
    const name = id.startsWith('arn:') ? id.slice(id.lastIndexOf(':secret:') + ':secret:'.length) : id;
    const value = this.#secrets.get(name);
    if (value === undefined) {
      throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return {
      ARN: this.arn(name),
      Name: name,
      SecretString: value,
      VersionId: 'local',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: this.#created.getTime() / 1000,
    };
  }
}
