import { z } from 'zod';

/** One CloudFormation resource, as far as the tests read it. */
export const CfnResource = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).default({}),
  DeletionPolicy: z.string().optional(),
  UpdateReplacePolicy: z.string().optional(),
  DependsOn: z.union([z.string(), z.array(z.string())]).optional(),
});
export type CfnResource = z.infer<typeof CfnResource>;

export const CfnTemplate = z.object({
  Resources: z.record(z.string(), CfnResource),
  Parameters: z
    .record(z.string(), z.object({ Type: z.string(), Default: z.unknown().optional() }))
    .default({}),
  Outputs: z
    .record(z.string(), z.object({ Value: z.unknown(), Export: z.object({ Name: z.unknown() }).optional() }))
    .default({}),
});
export type CfnTemplate = z.infer<typeof CfnTemplate>;

export interface Located {
  readonly stack: string;
  readonly logicalId: string;
  readonly resource: CfnResource;
}

const PHYSICAL_NAME: Record<string, [kind: string, property: string]> = {
  'AWS::DynamoDB::Table': ['table', 'TableName'],
  'AWS::Events::EventBus': ['bus', 'Name'],
  'AWS::SNS::Topic': ['topic', 'TopicName'],
  'AWS::SecretsManager::Secret': ['secret', 'Name'],
  'AWS::SQS::Queue': ['queue', 'QueueName'],
  'AWS::Lambda::Function': ['function', 'FunctionName'],
  'AWS::ApiGatewayV2::Api': ['websocket-api', 'Name'],
  'AWS::Events::Rule': ['rule', 'Name'],
  'AWS::StepFunctions::StateMachine': ['state-machine', 'StateMachineName'],
};

/**
 * The templates of a cloud assembly, with the one thing tests need most: what a CloudFormation
 * value points at, across stacks (`Fn::ImportValue` is followed to the exporting stack), named as
 * `kind:physical-name` (`table:dev-sensorbus-readings`, `function:dev-sensorbus-ingest`, ...).
 */
export class CloudAssembly {
  constructor(readonly templates: Readonly<Record<string, CfnTemplate>>) {}

  *resources(type?: string): Generator<Located> {
    for (const [stack, template] of Object.entries(this.templates)) {
      for (const [logicalId, resource] of Object.entries(template.Resources)) {
        if (type === undefined || resource.Type === type) yield { stack, logicalId, resource };
      }
    }
  }

  /** The one resource of `type` whose property `property` is `value`. */
  find(type: string, property: string, value: unknown): Located {
    const found = [...this.resources(type)].filter(({ resource }) => resource.Properties[property] === value);
    if (found.length !== 1)
      throw new Error(`Expected one ${type} with ${property} = ${String(value)}, found ${found.length}`);
    const [only] = found;
    if (!only) throw new Error('unreachable');
    return only;
  }

  resource(stack: string, logicalId: string): Located {
    const resource = this.templates[stack]?.Resources[logicalId];
    if (!resource) throw new Error(`No resource ${logicalId} in ${stack}`);
    return { stack, logicalId, resource };
  }

  /** The resources a value refers to (`Ref`, `Fn::GetAtt`, `Fn::ImportValue`, anywhere inside it). */
  refs(value: unknown, stack: string): Located[] {
    if (Array.isArray(value)) return value.flatMap((item) => this.refs(item, stack));
    if (typeof value !== 'object' || value === null) return [];
    if ('Ref' in value && typeof value.Ref === 'string') {
      if (value.Ref.startsWith('AWS::') || this.templates[stack]?.Parameters[value.Ref]) return [];
      return [this.resource(stack, value.Ref)];
    }
    if ('Fn::GetAtt' in value && Array.isArray(value['Fn::GetAtt'])) {
      const [logicalId] = value['Fn::GetAtt'];
      return typeof logicalId === 'string' ? [this.resource(stack, logicalId)] : [];
    }
    if ('Fn::ImportValue' in value) {
      const exported = this.#export(value['Fn::ImportValue']);
      return this.refs(exported.value, exported.stack);
    }
    return Object.values(value).flatMap((item) => this.refs(item, stack));
  }

  /**
   * What a value names: the resources it refers to, or — for ARNs and names spelled out rather than
   * referenced — the resource of the assembly with that physical name (of `kind`, when names of
   * different kinds coincide, as a table's and a function's may). `*` stays `*`.
   */
  identify(value: unknown, stack: string, kind?: string): string[] {
    const referenced = this.refs(value, stack).map((located) => this.identity(located));
    if (referenced.length > 0) return referenced;
    const stream = this.#streamParameter(value, stack);
    if (stream) return [`stream:${stream}`];
    const text = flatten(value);
    if (text === '*') return ['*'];
    const table = /:dynamodb:.*:table\/([^/]+)(\/index\/\*)?$/.exec(text);
    if (table?.[1]) return [`table:${table[1]}${table[2] ? '/index/*' : ''}`];
    const secret = /:secretsmanager:.*:secret:(.+?)(-\?{6})?$/.exec(text);
    if (secret?.[1]) return [`secret:${secret[1]}`];
    const named = [...this.resources()].filter(({ resource }) => {
      const naming = PHYSICAL_NAME[resource.Type];
      return (
        naming !== undefined &&
        resource.Properties[naming[1]] === text &&
        (kind === undefined || naming[0] === kind)
      );
    });
    return named.map((located) => this.identity(located));
  }

  /** The table whose latest stream ARN a value reads from the data stack's SSM parameter, resolved at deploy time. */
  #streamParameter(value: unknown, stack: string): string | undefined {
    if (typeof value !== 'object' || value === null || !('Ref' in value) || typeof value.Ref !== 'string')
      return undefined;
    const parameter = this.templates[stack]?.Parameters[value.Ref];
    const name =
      typeof parameter?.Default === 'string'
        ? /\/tables\/([^/]+)\/stream-arn$/.exec(parameter.Default)
        : null;
    return name?.[1];
  }

  identity({ resource, logicalId }: Located): string {
    const naming = PHYSICAL_NAME[resource.Type];
    if (!naming) return `${resource.Type}:${logicalId}`;
    return `${naming[0]}:${String(resource.Properties[naming[1]])}`;
  }

  /**
   * The dependency cycles among the resources of one template (through `Ref`, `Fn::GetAtt`,
   * `Fn::Sub` and `DependsOn`): CloudFormation refuses such a template, but only when it is deployed.
   */
  cycles(stack: string): string[][] {
    const resources = this.templates[stack]?.Resources ?? {};
    const dependencies = new Map(
      Object.entries(resources).map(([logicalId, resource]) => [
        logicalId,
        new Set([
          ...this.#mentions(resource.Properties, new Set(Object.keys(resources))),
          ...[resource.DependsOn ?? []].flat(),
        ]),
      ]),
    );
    const cycles: string[][] = [];
    const done = new Set<string>();
    const path: string[] = [];
    const visit = (logicalId: string): void => {
      if (done.has(logicalId)) return;
      const at = path.indexOf(logicalId);
      if (at >= 0) {
        cycles.push([...path.slice(at), logicalId]);
        return;
      }
      path.push(logicalId);
      for (const dependency of dependencies.get(logicalId) ?? []) visit(dependency);
      path.pop();
      done.add(logicalId);
    };
    for (const logicalId of dependencies.keys()) visit(logicalId);
    return cycles;
  }

  #mentions(value: unknown, logicalIds: ReadonlySet<string>): string[] {
    if (Array.isArray(value)) return value.flatMap((item) => this.#mentions(item, logicalIds));
    if (typeof value !== 'object' || value === null) return [];
    const mentioned: string[] = [];
    if ('Ref' in value && typeof value.Ref === 'string') mentioned.push(value.Ref);
    if ('Fn::GetAtt' in value && Array.isArray(value['Fn::GetAtt']))
      mentioned.push(String(value['Fn::GetAtt'][0]));
    if ('Fn::Sub' in value) {
      const [template] = [value['Fn::Sub']].flat();
      if (typeof template === 'string') {
        mentioned.push(
          ...[...template.matchAll(/\$\{([^}.!]+)/g)].flatMap((match) => (match[1] ? [match[1]] : [])),
        );
      }
    }
    return [
      ...mentioned.filter((logicalId) => logicalIds.has(logicalId)),
      ...Object.values(value).flatMap((item) => this.#mentions(item, logicalIds)),
    ];
  }

  #export(name: unknown): { stack: string; value: unknown } {
    for (const [stack, template] of Object.entries(this.templates)) {
      for (const output of Object.values(template.Outputs)) {
        if (output.Export?.Name === name) return { stack, value: output.Value };
      }
    }
    throw new Error(`No stack exports ${String(name)}`);
  }
}

/**
 * A CloudFormation value as text, references as `<Logical>` or `<Logical.Attribute>` and pseudo
 * parameters as `<AWS::Region>`: enough to read an ARN or a URL.
 */
export const flatten = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    if ('Fn::Join' in value && Array.isArray(value['Fn::Join'])) {
      const [delimiter, parts] = value['Fn::Join'];
      if (typeof delimiter === 'string' && Array.isArray(parts)) return parts.map(flatten).join(delimiter);
    }
    if ('Ref' in value) return `<${String(value.Ref)}>`;
    if ('Fn::GetAtt' in value && Array.isArray(value['Fn::GetAtt'])) {
      return `<${value['Fn::GetAtt'].map(String).join('.')}>`;
    }
  }
  return JSON.stringify(value);
};

/** One statement of an IAM policy document, normalised to arrays. */
export interface Statement {
  readonly effect: string;
  readonly actions: string[];
  readonly resources: unknown[];
  readonly principal: unknown;
  readonly condition: unknown;
}

const RawStatement = z.object({
  Effect: z.string(),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown().optional(),
  Principal: z.unknown().optional(),
  Condition: z.unknown().optional(),
});
const PolicyDocument = z.object({ Statement: z.array(RawStatement) });

export const statementsOf = (document: unknown): Statement[] =>
  PolicyDocument.parse(document).Statement.map((statement) => ({
    effect: statement.Effect,
    actions: [statement.Action].flat(),
    resources: statement.Resource === undefined ? [] : [statement.Resource].flat(),
    principal: statement.Principal,
    condition: statement.Condition,
  }));

/** Every policy document of the assembly: identity policies, inline role policies, resource policies, key policies. */
export function* policyDocuments(
  assembly: CloudAssembly,
): Generator<{ where: string; kind: string; document: unknown }> {
  const documentProperty: Record<string, string> = {
    'AWS::IAM::Policy': 'PolicyDocument',
    'AWS::SQS::QueuePolicy': 'PolicyDocument',
    'AWS::SNS::TopicPolicy': 'PolicyDocument',
    'AWS::KMS::Key': 'KeyPolicy',
    'AWS::S3::BucketPolicy': 'PolicyDocument',
  };
  for (const { stack, logicalId, resource } of assembly.resources()) {
    const property = documentProperty[resource.Type];
    if (property && resource.Properties[property] !== undefined) {
      yield { where: `${stack}/${logicalId}`, kind: resource.Type, document: resource.Properties[property] };
    }
    if (resource.Type === 'AWS::IAM::Role') {
      const inline = z
        .array(z.object({ PolicyDocument: z.unknown() }))
        .default([])
        .parse(resource.Properties.Policies);
      for (const policy of inline) {
        yield { where: `${stack}/${logicalId}`, kind: resource.Type, document: policy.PolicyDocument };
      }
    }
  }
}
