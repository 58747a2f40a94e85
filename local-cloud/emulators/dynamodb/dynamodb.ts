import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
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
import { type AwsCredentials, verifySignature } from '../edge/sigv4.ts';
import { jsonRefusal, readBody, sendAwsJsonError, withBody } from '../shared/aws-protocol.ts';

interface KeyDefinition {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A table to create: its keys, global secondary indexes and TTL attribute (what CreateTable and the sweeper need). */
export interface TableDefinition {
  readonly name: string;
  readonly partitionKey: KeyDefinition;
  readonly sortKey?: KeyDefinition;
  readonly indexes: readonly {
    readonly name: string;
    readonly partitionKey: KeyDefinition;
    readonly sortKey?: KeyDefinition;
    readonly projection: 'KEYS_ONLY' | 'ALL';
  }[];
  /** Attribute holding an epoch-seconds expiry; dynalite does not expire items, the sweeper does. */
  readonly timeToLiveAttribute?: string;
}

export interface LocalDynamoDBOptions {
  /** Where dynalite keeps its LevelDB store; in memory when absent. */
  readonly path?: string;
  /** The only key whose SigV4 signatures are accepted. */
  readonly credentials: AwsCredentials;
  /** The region signatures are scoped to. */
  readonly region: string;
}

/**
 * DynamoDB for the local cloud, served by dynalite (a faithful DynamoDB implementation on LevelDB).
 * The edge hands it DynamoDB requests untouched; the launcher names the tables to create.
 */
export class LocalDynamoDB {
  readonly #server: Server;
  readonly #credentials: AwsCredentials;
  readonly #region: string;
  readonly #dynalite: RequestListener;
  #endpoint = '';

  constructor(options: LocalDynamoDBOptions) {
    this.#credentials = options.credentials;
    this.#region = options.region;
    this.#server = dynalite({
      ...(options.path ? { path: options.path } : {}),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    // dynalite's own listener answers anyone on the machine: it gets the edge's signature check.
    const [listener] = this.#server.listeners('request');
    if (typeof listener !== 'function') throw new Error('dynalite did not register its request listener');
    this.#dynalite = (req, res) => void listener.call(this.#server, req, res);
    this.#server.removeAllListeners('request');
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#signedOnly(req, res).catch(() => res.destroy());
    });
  }

  /**
   * dynalite owns a loopback listener so it can close its store cleanly, and so the table set-up and
   * TTL sweeps (signed) can reach it before the edge is up; the edge calls it in-process.
   */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#endpoint = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Serves a request the edge has already authenticated. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#dynalite(req, res);
  }

  async #signedOnly(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const failure = await verifySignature(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      { credentials: this.#credentials, region: this.#region, service: 'dynamodb' },
    );
    if (failure) return sendAwsJsonError(res, jsonRefusal(failure), 'application/x-amz-json-1.0');
    this.#dynalite(withBody(req, body), res);
  }

  /** Creates every table given that does not exist yet. */
  async ensureTables(specs: readonly TableDefinition[]): Promise<void> {
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
  startTtlSweeper(specs: readonly TableDefinition[], intervalMs: number): NodeJS.Timeout {
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

  /** A client of dynalite itself, behind the edge (what the edge's meter reads items back with). */
  directClient(): DynamoDBClient {
    return this.#client();
  }

  #client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.#endpoint,
      region: this.#region,
      credentials: {
        accessKeyId: this.#credentials.accessKeyId,
        secretAccessKey: this.#credentials.secretAccessKey,
      },
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.#server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

/** The CreateTable request of a table definition (on-demand, like the AWS stack). */
export const createTableInput = (spec: TableDefinition) => {
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
