import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { TableSpec } from '../topology.ts';

/**
 * DynamoDB for the local cloud, served by dynalite (a faithful DynamoDB implementation on LevelDB).
 * The edge hands it DynamoDB requests untouched; tables are created from the topology.
 */
export class LocalDynamoDB {
  readonly #server: Server;
  #endpoint = '';

  constructor(options: { path?: string }) {
    this.#server = dynalite({
      ...(options.path ? { path: options.path } : {}),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
  }

  /** dynalite owns a loopback listener so it can close its store cleanly; the edge calls it in-process. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#endpoint = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#server.emit('request', req, res);
  }

  /** Creates every table of the topology that does not exist yet. */
  async ensureTables(specs: readonly TableSpec[]): Promise<void> {
    const client = this.#client();
    try {
      const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
      for (const spec of specs) {
        if (!existing.has(spec.name)) await client.send(new CreateTableCommand(createTableInput(spec)));
      }
    } finally {
      client.destroy();
    }
  }

  /**
   * Deletes items whose TTL attribute (epoch seconds) has passed, as DynamoDB's TTL does in the
   * background (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
   */
  startTtlSweeper(specs: readonly TableSpec[], intervalMs: number): NodeJS.Timeout {
    const sweep = async () => {
      const client = this.#client();
      try {
        for (const spec of specs) {
          if (!spec.timeToLiveAttribute) continue;
          let startKey: Record<string, AttributeValue> | undefined;
          do {
            const page = await client.send(
              new ScanCommand({
                TableName: spec.name,
                FilterExpression: '#ttl < :now',
                ExpressionAttributeNames: { '#ttl': spec.timeToLiveAttribute },
                ExpressionAttributeValues: { ':now': { N: String(Math.floor(Date.now() / 1000)) } },
                ExclusiveStartKey: startKey,
              }),
            );
            for (const item of page.Items ?? []) {
              const key: Record<string, AttributeValue> = {};
              for (const name of [spec.partitionKey.name, spec.sortKey?.name]) {
                const value = name === undefined ? undefined : item[name];
                if (name !== undefined && value !== undefined) key[name] = value;
              }
              await client.send(new DeleteItemCommand({ TableName: spec.name, Key: key }));
            }
            startKey = page.LastEvaluatedKey;
          } while (startKey);
        }
      } catch {
        // the next sweep tries again; expiry is best-effort on AWS too
      } finally {
        client.destroy();
      }
    };
    const timer = setInterval(() => void sweep(), intervalMs);
    timer.unref();
    return timer;
  }

  #client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.#endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.#server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

/** The CreateTable request of a topology table (on-demand, like the AWS stack). */
export const createTableInput = (spec: TableSpec) => {
  const attributes = new Map<string, AttributeDefinition>();
  const add = (key: { name: string; type: 'S' | 'N' }) =>
    attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  add(spec.partitionKey);
  if (spec.sortKey) add(spec.sortKey);
  const indexes: GlobalSecondaryIndex[] = spec.indexes.map((index) => {
    add(index.partitionKey);
    if (index.sortKey) add(index.sortKey);
    return {
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
      ],
      Projection: { ProjectionType: index.projection },
    };
  });
  return {
    TableName: spec.name,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: spec.partitionKey.name, KeyType: 'HASH' as const },
      ...(spec.sortKey ? [{ AttributeName: spec.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
};
