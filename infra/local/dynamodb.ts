import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
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
    const client = new DynamoDBClient({
      endpoint: this.#endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
      for (const spec of specs) {
        if (!existing.has(spec.name)) await client.send(new CreateTableCommand(createTableInput(spec)));
      }
    } finally {
      client.destroy();
    }
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
