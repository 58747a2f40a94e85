import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DeviceId } from '../../schemas/common.ts';
import { validate } from '../lib/http.ts';

/** The `{deviceId}` of a `/devices/{deviceId}` route, validated. */
export const deviceIdOf = (event: APIGatewayProxyEvent): string =>
  validate(DeviceId, event.pathParameters?.deviceId, ['deviceId']);
