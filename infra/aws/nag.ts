import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on a construct and everything below it. `id` is the granular
 * finding id (`AwsSolutions-IAM5[Resource::*]`): cdk-nag 3 matches it exactly, so an
 * acknowledgement never hides a finding it was not written for.
 */
export const acknowledge = (scope: IConstruct, id: string, reason: string): void => {
  Validations.of(scope).acknowledge({ id, reason });
};

/** cdk-nag's flat spelling of a CloudFormation value (`<Ref>`, `<Logical.Attr>`, joins inlined). */
const flatten = (node: unknown): string => {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof node === 'object' && node !== null) {
    if ('Fn::Join' in node && Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'];
      if (typeof delimiter === 'string' && Array.isArray(items)) return items.map(flatten).join(delimiter);
    }
    if ('Fn::Sub' in node) return flatten(node['Fn::Sub']);
    if ('Fn::GetAtt' in node && Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if ('Fn::ImportValue' in node) return flatten(node['Fn::ImportValue']);
    if ('Ref' in node) return `<${flatten(node.Ref)}>`;
  }
  return JSON.stringify(node);
};

/**
 * Acknowledges the IAM5 finding for one wildcard resource a grant had to use, naming the
 * resource as cdk-nag does, so the acknowledgement covers that resource and nothing else.
 */
export const acknowledgeWildcardResource = (scope: IConstruct, resource: string, reason: string): void => {
  acknowledge(scope, `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`, reason);
};
