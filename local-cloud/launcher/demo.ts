import type { PutDeviceRequest } from '../../schemas/device.ts';
import type { SimulatedDevice } from './simulator.ts';

export interface DemoDevice {
  readonly deviceId: string;
  readonly registration: PutDeviceRequest;
  readonly simulate: SimulatedDevice['metrics'];
}

/** The demo fleet `npm start` registers through the public API. */
export const demoDevices: readonly DemoDevice[] = [
  {
    deviceId: 'greenhouse-1',
    registration: {
      name: 'Greenhouse 1',
      location: 'North wing',
      metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } },
      alarms: [
        { metric: 'temperature', above: 30, severity: 'warning' },
        { metric: 'humidity', below: 35, severity: 'warning' },
      ],
      expectedIntervalSeconds: 5,
    },
    simulate: { temperature: [24, 1.5, 9], humidity: [55, 4, -25] },
  },
  {
    deviceId: 'greenhouse-2',
    registration: {
      name: 'Greenhouse 2',
      location: 'South wing',
      metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } },
      alarms: [{ metric: 'temperature', above: 32, severity: 'warning' }],
      expectedIntervalSeconds: 5,
    },
    simulate: { temperature: [26, 1.2, 8], humidity: [60, 3, 5] },
  },
  {
    deviceId: 'cold-room-1',
    registration: {
      name: 'Cold room',
      location: 'Warehouse',
      metrics: { temperature: { unit: '°C' } },
      alarms: [{ metric: 'temperature', above: 8, severity: 'critical' }],
      expectedIntervalSeconds: 5,
    },
    simulate: { temperature: [4, 0.6, 6] },
  },
  {
    deviceId: 'server-rack-1',
    registration: {
      name: 'Server rack A1',
      location: 'Data room',
      metrics: { inletTemp: { unit: '°C' }, powerKw: { unit: 'kW' } },
      alarms: [{ metric: 'inletTemp', above: 35, below: 10, severity: 'critical' }],
      expectedIntervalSeconds: 5,
    },
    simulate: { inletTemp: [24, 1, 14], powerKw: [3.2, 0.3, 1.5] },
  },
];
