import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { physicalNameOfKey, REPO_ROOT, stageConfig } from '../../../../infra/aws/config.ts';
import { ASSETS_FOLDER } from '../../../../infra/aws/dashboard.ts';
import { buildSensorbus } from '../../../../infra/aws/sensorbus-app.ts';
import { SILENCE_SCAN_SEGMENTS_ENV } from '../../../../infra/fleet.ts';
import { CfnTemplate, CloudAssembly } from './cloud-assembly.ts';

const Environment = z.object({ Variables: z.record(z.string(), z.unknown()) });

const cdkContext = (): Record<string, unknown> =>
  z
    .object({ context: z.record(z.string(), z.unknown()) })
    .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8'))).context;

/** Synthesises a stage for the fleet the context names (handlers not bundled: only the templates are read). */
const synthFor = (outdir: string, fleet: Record<string, unknown>): CloudAssembly => {
  const dashboardFiles = join(outdir, 'dashboard');
  mkdirSync(join(dashboardFiles, ASSETS_FOLDER), { recursive: true });
  writeFileSync(join(dashboardFiles, 'index.html'), '<!doctype html>');
  writeFileSync(join(dashboardFiles, ASSETS_FOLDER, 'app.js'), '');
  const app = new App({
    outdir,
    context: { ...cdkContext(), stage: 'dev', 'aws:cdk:bundling-stacks': [], ...fleet },
  });
  buildSensorbus(app, { dashboardFiles });
  const cloud = app.synth();
  return new CloudAssembly(
    Object.fromEntries(cloud.stacks.map((stack) => [stack.stackName, CfnTemplate.parse(stack.template)])),
  );
};

describe('a stage sized for its fleet (-c fleetDevices -c fleetUploadSeconds)', () => {
  let outdir = '';
  let small = new CloudAssembly({});
  let million = new CloudAssembly({});
  let slow = new CloudAssembly({});
  const STAGE = stageConfig('dev', undefined);

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'sensorbus-fleet-'));
    small = synthFor(join(outdir, 'small'), {});
    million = synthFor(join(outdir, 'million'), { fleetDevices: '1000000', fleetUploadSeconds: '300' });
    slow = synthFor(join(outdir, 'slow'), { fleetDevices: '1000000', fleetUploadSeconds: '900' });
  }, 300_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const fn = (assembly: CloudAssembly, key: string) =>
    assembly.find('AWS::Lambda::Function', 'FunctionName', physicalNameOfKey(STAGE, key)).resource.Properties;

  it('gives the silence check one Scan segment per 25,000 devices', () => {
    expect(Environment.parse(fn(small, 'silenceCheck').Environment).Variables).toMatchObject({
      [SILENCE_SCAN_SEGMENTS_ENV]: '1',
    });
    expect(Environment.parse(fn(million, 'silenceCheck').Environment).Variables).toMatchObject({
      [SILENCE_SCAN_SEGMENTS_ENV]: '40',
    });
  });

  it('caps the push at three times the fleet’s upload rate of 40 ms pushes, never below the small stage’s 100', () => {
    expect(fn(small, 'push').ReservedConcurrentExecutions).toBe(100);
    expect(fn(million, 'push').ReservedConcurrentExecutions).toBe(400);
  });

  it('gives the silence check a whole vCPU from 250,000 devices, and every other function what a small stage has', () => {
    expect(fn(small, 'silenceCheck').MemorySize).toBe(512);
    expect(fn(million, 'silenceCheck').MemorySize).toBe(1_769);
    for (const key of ['ingest', 'deriveMetrics', 'evaluateAlarms', 'alertNotifier'])
      expect([key, fn(million, key).MemorySize, fn(million, key).ReservedConcurrentExecutions]).toEqual([
        key,
        fn(small, key).MemorySize,
        fn(small, key).ReservedConcurrentExecutions,
      ]);
  });

  it('schedules the silence check every minute up to a 5-minute interval, and every 4 minutes at 15', () => {
    const expression = (assembly: CloudAssembly, key: string) =>
      assembly.find('AWS::Scheduler::Schedule', 'Name', physicalNameOfKey(STAGE, key)).resource.Properties
        .ScheduleExpression;
    expect(expression(small, 'silenceCheck')).toBe('rate(1 minute)');
    expect(expression(million, 'silenceCheck')).toBe('rate(1 minute)');
    expect(expression(slow, 'silenceCheck')).toBe('rate(4 minutes)');
    expect(expression(slow, 'alertEscalation')).toBe('rate(1 minute)');
  });
});
