import { describe, expect, it } from 'vitest';
import { permissionOf, placeholdersOf, tasksOf } from '../../../../infra/aws/state-machines.ts';

/** An ASL `${Name}` placeholder, spelled without tripping the template-string lint. */
const ph = (name: string): string => ['$', '{', name, '}'].join('');

const task = (resource: string, parameters: Record<string, unknown>) => ({ name: 'T', resource, parameters });

describe('workflow permissions from ASL', () => {
  it('finds tasks nested in Map and Parallel states', () => {
    const states = {
      A: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke' },
      B: {
        Type: 'Map',
        ItemProcessor: { States: { C: { Type: 'Task', Resource: 'arn:aws:states:::events:putEvents' } } },
      },
      D: {
        Type: 'Parallel',
        Branches: [{ States: { E: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem' } } }],
      },
      F: { Type: 'Pass' },
    };
    expect(tasksOf(states).map((t) => t.name)).toEqual(['A', 'C', 'E']);
  });

  it('grants each DynamoDB operation on the table its placeholder names', () => {
    expect(
      permissionOf(task('arn:aws:states:::dynamodb:updateItem', { TableName: ph('Readings') }), {
        Readings: { table: 'readings' },
      }),
    ).toEqual({ actions: ['dynamodb:UpdateItem'], substitution: { table: 'readings' } });
  });

  it('grants SendMessage on the queue whose URL its placeholder names', () => {
    expect(
      permissionOf(
        task('arn:aws:states:::sqs:sendMessage', { QueueUrl: ph('Parked'), 'MessageBody.$': '$' }),
        {
          Parked: { queue: 'sensorbus-enrich-dlq' },
        },
      ),
    ).toEqual({ actions: ['sqs:SendMessage'], substitution: { queue: 'sensorbus-enrich-dlq' } });
  });

  it('marks PutEvents with run-time entries as targeting a bus the ASL does not name', () => {
    expect(permissionOf(task('arn:aws:states:::events:putEvents', { 'Entries.$': '$' }), {})).toEqual({
      actions: ['events:PutEvents'],
      dynamic: 'bus',
    });
  });

  it('refuses a task whose target is not a declared placeholder, or an integration it has no grant for', () => {
    expect(() =>
      permissionOf(task('arn:aws:states:::dynamodb:getItem', { TableName: 'literal-table' }), {}),
    ).toThrow(/placeholder/);
    expect(() => permissionOf(task('arn:aws:states:::sns:publish', {}), {})).toThrow(/no permission/);
  });

  it('lists the placeholders of an ASL text', () => {
    expect(placeholdersOf(JSON.stringify({ A: ph('One'), B: ph('Two'), C: ph('One') }))).toEqual(
      new Set(['One', 'Two']),
    );
  });
});
