import { validationException } from '../shared/aws-protocol.ts';

/** Every account and region has one, which cannot be deleted (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html). */
export const DEFAULT_BUS = 'default';

/** An event bus as CreateEventBus makes it. */
export interface Bus {
  readonly name: string;
  readonly arn: string;
  readonly creationTime: Date;
  readonly lastModifiedTime: Date;
  readonly description?: string;
}

/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html#API_CreateEventBus_RequestSyntax */
const BUS_NAME = /^[/.\-_A-Za-z0-9]+$/;
const MAX_BUS_NAME_LENGTH = 256;

/** A bus name CreateEventBus accepts, or AWS's validation error naming the `name` member. */
export const validateBusName = (name: unknown): string => {
  const constraints =
    typeof name !== 'string'
      ? ['Member must not be null']
      : [
          ...(BUS_NAME.test(name)
            ? []
            : ['Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+']),
          ...(name.length > MAX_BUS_NAME_LENGTH
            ? [`Member must have length less than or equal to ${MAX_BUS_NAME_LENGTH}`]
            : []),
        ];
  if (constraints.length > 0)
    throw validationException(constraints.map((constraint) => ({ value: name, member: 'name', constraint })));
  return String(name);
};

/** What DescribeEventBus and ListEventBuses answer for a bus. */
export const describeBus = (bus: Bus) => ({
  Name: bus.name,
  Arn: bus.arn,
  CreationTime: bus.creationTime.getTime() / 1000,
  LastModifiedTime: bus.lastModifiedTime.getTime() / 1000,
  ...(bus.description !== undefined ? { Description: bus.description } : {}),
});
