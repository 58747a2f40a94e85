/**
 * Time to Live for the local DynamoDB (dynalite answers DescribeTimeToLive with DISABLED and has no
 * UpdateTimeToLive): each table's TTL attribute, set and read through the DynamoDB API
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html), kept
 * in `ttl.json` beside the streams. The sweep that deletes expired items is the local DynamoDB's.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AwsError } from '../shared/aws-protocol.ts';

const Settings = z.record(z.string(), z.string());

const UpdateRequest = z.object({
  TableName: z.string().min(1),
  TimeToLiveSpecification: z.object({
    AttributeName: z.string().min(1).max(255),
    Enabled: z.boolean(),
  }),
});

/** Each table's TTL attribute, where TTL is enabled. */
export class TimeToLiveSettings {
  readonly #file: string | undefined;
  readonly #attributes = new Map<string, string>();

  constructor(dir?: string) {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    this.#file = join(dir, 'ttl.json');
    if (existsSync(this.#file)) {
      const saved = Settings.parse(JSON.parse(readFileSync(this.#file, 'utf8')));
      for (const [table, attribute] of Object.entries(saved)) this.#attributes.set(table, attribute);
    }
  }

  /** The tables with TTL enabled, and the attribute of each. */
  enabled(): ReadonlyMap<string, string> {
    return this.#attributes;
  }

  /** DescribeTimeToLive's answer (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTimeToLive.html). */
  describe(table: string) {
    const attribute = this.#attributes.get(table);
    return {
      TimeToLiveDescription: attribute
        ? { TimeToLiveStatus: 'ENABLED', AttributeName: attribute }
        : { TimeToLiveStatus: 'DISABLED' },
    };
  }

  /**
   * UpdateTimeToLive: takes effect at once (AWS takes up to an hour, during which the table is
   * ENABLING). Enabling what is enabled, or disabling what is not, is refused as AWS refuses it.
   */
  update(request: Record<string, unknown>) {
    const parsed = UpdateRequest.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value at '${issue?.path.join('.') ?? ''}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`,
      );
    }
    const { TableName, TimeToLiveSpecification: spec } = parsed.data;
    const current = this.#attributes.get(TableName);
    if (spec.Enabled && current !== undefined)
      throw new AwsError('ValidationException', 'TimeToLive is already enabled');
    if (!spec.Enabled && current === undefined)
      throw new AwsError('ValidationException', 'TimeToLive is already disabled');
    if (!spec.Enabled && current !== spec.AttributeName)
      throw new AwsError(
        'ValidationException',
        `TimeToLive is enabled on attribute ${current}, not ${spec.AttributeName}`,
      );
    this.set(TableName, spec.Enabled ? spec.AttributeName : undefined);
    return { TimeToLiveSpecification: spec };
  }

  /** Sets or clears a table's TTL attribute (a deleted table loses it). */
  set(table: string, attribute: string | undefined): void {
    if (attribute === undefined) this.#attributes.delete(table);
    else this.#attributes.set(table, attribute);
    if (!this.#file) return;
    writeFileSync(`${this.#file}.tmp`, JSON.stringify(Object.fromEntries(this.#attributes)));
    renameSync(`${this.#file}.tmp`, this.#file);
  }
}
