import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EventPattern } from '../../../../../local-cloud/emulators/eventbridge/pattern.ts';
import {
  compilePattern,
  InvalidEventPatternError,
  testEventPattern,
} from '../../../../../local-cloud/emulators/eventbridge/pattern.ts';

const envelope = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'ReadingRecorded',
  source: 'sensorbus.ingest',
  account: '111122223333',
  time: '2026-03-01T12:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:iot:eu-west-1:111122223333:thing/sensor-1'],
};

const event = (detail: Record<string, unknown>, overrides: Record<string, unknown> = {}) => ({
  ...envelope,
  detail,
  ...overrides,
});

interface MatchCase {
  name: string;
  pattern: string | EventPattern;
  event: Record<string, unknown>;
  matches: boolean;
}

interface InvalidCase {
  name: string;
  pattern: string | EventPattern;
  reason: string;
}

const exactCases: MatchCase[] = [
  { name: 'string equal', pattern: { source: ['sensorbus.ingest'] }, event: event({}), matches: true },
  {
    name: 'any value of the list',
    pattern: { source: ['aws.ec2', 'sensorbus.ingest'] },
    event: event({}),
    matches: true,
  },
  { name: 'different string', pattern: { source: ['sensorbus.alerts'] }, event: event({}), matches: false },
  {
    name: 'strings are case-sensitive',
    pattern: { source: ['Sensorbus.Ingest'] },
    event: event({}),
    matches: false,
  },
  {
    name: 'field names are case-sensitive',
    pattern: { Source: ['sensorbus.ingest'] },
    event: event({}),
    matches: false,
  },
  {
    name: 'every field must match',
    pattern: { source: ['sensorbus.ingest'], 'detail-type': ['AlertRaised'] },
    event: event({}),
    matches: false,
  },
  {
    name: 'integer equals float',
    pattern: { detail: { level: [300] } },
    event: event({ level: 300.0 }),
    matches: true,
  },
  {
    name: 'number written 3.0e2 equals 300',
    pattern: '{"detail": {"level": [3.0e2]}}',
    event: event({ level: 300 }),
    matches: true,
  },
  {
    name: 'number written 300.0 equals 3.0e2 in the event',
    pattern: '{"detail": {"level": [300.0]}}',
    event: event(JSON.parse('{"level": 3.0e2}')),
    matches: true,
  },
  {
    name: 'number written 3.018e2 equals 301.8',
    pattern: '{"detail": {"level": [3.018e2]}}',
    event: event({ level: 301.8 }),
    matches: true,
  },
  {
    name: 'number does not equal numeric string',
    pattern: { detail: { level: [300] } },
    event: event({ level: '300' }),
    matches: false,
  },
  {
    name: 'numeric string does not equal number',
    pattern: { detail: { level: ['300'] } },
    event: event({ level: 300 }),
    matches: false,
  },
  {
    name: 'number beyond the numeric range still matches exactly',
    pattern: { detail: { accountNumber: [123456789012] } },
    event: event({ accountNumber: 123456789012 }),
    matches: true,
  },
  {
    name: 'true',
    pattern: { detail: { calibrated: [true] } },
    event: event({ calibrated: true }),
    matches: true,
  },
  {
    name: 'false',
    pattern: { detail: { calibrated: [false] } },
    event: event({ calibrated: false }),
    matches: true,
  },
  {
    name: 'true is not false',
    pattern: { detail: { calibrated: [false] } },
    event: event({ calibrated: true }),
    matches: false,
  },
  {
    name: 'true is not "true"',
    pattern: { detail: { calibrated: [true] } },
    event: event({ calibrated: 'true' }),
    matches: false,
  },
  {
    name: 'null',
    pattern: { detail: { firmware: [null] } },
    event: event({ firmware: null }),
    matches: true,
  },
  {
    name: 'null is not "null"',
    pattern: { detail: { firmware: [null] } },
    event: event({ firmware: 'null' }),
    matches: false,
  },
  {
    name: 'null is not an absent field',
    pattern: { detail: { firmware: [null] } },
    event: event({}),
    matches: false,
  },
  {
    name: 'null is not an empty array',
    pattern: { resources: [null] },
    event: event({}, { resources: [] }),
    matches: false,
  },
  { name: 'empty string', pattern: { detail: { note: [''] } }, event: event({ note: '' }), matches: true },
  {
    name: 'empty string is not absent',
    pattern: { detail: { note: [''] } },
    event: event({}),
    matches: false,
  },
  {
    name: 'empty string is not null',
    pattern: { detail: { note: [''] } },
    event: event({ note: null }),
    matches: false,
  },
  {
    name: 'event array intersects pattern values',
    pattern: {
      resources: [
        'arn:aws:iot:eu-west-1:111122223333:thing/sensor-9',
        'arn:aws:iot:eu-west-1:111122223333:thing/sensor-1',
      ],
    },
    event: event(
      {},
      {
        resources: [
          'arn:aws:iot:eu-west-1:111122223333:thing/sensor-0',
          'arn:aws:iot:eu-west-1:111122223333:thing/sensor-1',
        ],
      },
    ),
    matches: true,
  },
  {
    name: 'event array without common value',
    pattern: { resources: ['arn:aws:iot:eu-west-1:111122223333:thing/sensor-9'] },
    event: event({}),
    matches: false,
  },
  {
    name: 'nested object field',
    pattern: { detail: { metrics: { temperature: [21.5] } } },
    event: event({ metrics: { temperature: 21.5, humidity: 40 } }),
    matches: true,
  },
  {
    name: 'nested pattern against a JSON string',
    pattern: { detail: { metrics: { temperature: [21.5] } } },
    event: event({ metrics: '{"temperature": 21.5}' }),
    matches: false,
  },
  {
    name: 'leaf pattern against an object',
    pattern: { detail: { metrics: ['21.5'] } },
    event: event({ metrics: { temperature: '21.5' } }),
    matches: false,
  },
  {
    name: 'dotted event key matches a nested pattern',
    pattern: { detail: { state: { status: ['running'] } } },
    event: event({ 'state.status': 'running' }),
    matches: true,
  },
  {
    name: 'dotted pattern key matches a nested event',
    pattern: { detail: { 'state.status': ['running'] } },
    event: event({ state: { status: 'running' } }),
    matches: true,
  },
  {
    name: 'emoji and trailing whitespace compare exactly',
    pattern: { detail: { label: ['Boiler 🚀 room '] } },
    event: event({ label: 'Boiler 🚀 room ' }),
    matches: true,
  },
  {
    name: 'duplicate keys in the pattern text: the last one wins',
    pattern: '{"detail": {"zone": [{"prefix": "us-"}], "zone": [{"anything-but": "us-east"}]}}',
    event: event({ zone: 'eu-central-1' }),
    matches: true,
  },
];

const prefixSuffixCases: MatchCase[] = [
  { name: 'prefix', pattern: { time: [{ prefix: '2026-03-01' }] }, event: event({}), matches: true },
  {
    name: 'prefix mismatch',
    pattern: { time: [{ prefix: '2026-03-02' }] },
    event: event({}),
    matches: false,
  },
  {
    name: 'prefix is case-sensitive',
    pattern: { source: [{ prefix: 'SENSORBUS' }] },
    event: event({}),
    matches: false,
  },
  {
    name: 'prefix never matches a number',
    pattern: { detail: { level: [{ prefix: '3' }] } },
    event: event({ level: 300 }),
    matches: false,
  },
  {
    name: 'empty prefix matches any string',
    pattern: { source: [{ prefix: '' }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'empty prefix does not match null',
    pattern: { detail: { note: [{ prefix: '' }] } },
    event: event({ note: null }),
    matches: false,
  },
  {
    name: 'prefix on an array element',
    pattern: { resources: [{ prefix: 'arn:aws:iot:' }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'prefix equals-ignore-case',
    pattern: { source: [{ prefix: { 'equals-ignore-case': 'SensorBUS.' } }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'prefix equals-ignore-case mismatch',
    pattern: { source: [{ prefix: { 'equals-ignore-case': 'aws.' } }] },
    event: event({}),
    matches: false,
  },
  {
    name: 'suffix',
    pattern: { detail: { file: [{ suffix: '.png' }] } },
    event: event({ file: 'plan.png' }),
    matches: true,
  },
  {
    name: 'suffix mismatch',
    pattern: { detail: { file: [{ suffix: '.png' }] } },
    event: event({ file: 'plan.jpg' }),
    matches: false,
  },
  {
    name: 'suffix is case-sensitive',
    pattern: { detail: { file: [{ suffix: '.PNG' }] } },
    event: event({ file: 'plan.png' }),
    matches: false,
  },
  {
    name: 'empty suffix matches any string',
    pattern: { source: [{ suffix: '' }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'suffix equals-ignore-case',
    pattern: { detail: { file: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: event({ file: 'PLAN.PNG' }),
    matches: true,
  },
  {
    name: 'suffix equals-ignore-case mismatch',
    pattern: { detail: { file: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: event({ file: 'plan.jpg' }),
    matches: false,
  },
];

const equalsIgnoreCaseCases: MatchCase[] = [
  {
    name: 'mixed case',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'readingrecorded' }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'other text',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'alertraised' }] },
    event: event({}),
    matches: false,
  },
  {
    name: 'is not a prefix match',
    pattern: { source: [{ 'equals-ignore-case': 'SENSORBUS' }] },
    event: event({}),
    matches: false,
  },
  {
    name: 'never matches a number',
    pattern: { detail: { level: [{ 'equals-ignore-case': '3' }] } },
    event: event({ level: 3 }),
    matches: false,
  },
  {
    name: 'empty matches empty',
    pattern: { detail: { note: [{ 'equals-ignore-case': '' }] } },
    event: event({ note: '' }),
    matches: true,
  },
  {
    name: 'empty does not match text',
    pattern: { detail: { note: [{ 'equals-ignore-case': '' }] } },
    event: event({ note: 'x' }),
    matches: false,
  },
  {
    name: 'accented letters fold',
    pattern: { detail: { site: [{ 'equals-ignore-case': 'ÄRGER' }] } },
    event: event({ site: 'ärger' }),
    matches: true,
  },
  {
    name: 'each pattern letter matches its upper-case form (ß as SS)',
    pattern: { detail: { street: [{ 'equals-ignore-case': 'straße' }] } },
    event: event({ street: 'STRASSE' }),
    matches: true,
  },
];

const anythingButCases: MatchCase[] = [
  {
    name: 'string: other value',
    pattern: { detail: { state: [{ 'anything-but': 'offline' }] } },
    event: event({ state: 'online' }),
    matches: true,
  },
  {
    name: 'string: excluded value',
    pattern: { detail: { state: [{ 'anything-but': 'offline' }] } },
    event: event({ state: 'offline' }),
    matches: false,
  },
  {
    name: 'string: null value',
    pattern: { detail: { state: [{ 'anything-but': 'offline' }] } },
    event: event({ state: null }),
    matches: true,
  },
  {
    name: 'string: number value',
    pattern: { detail: { state: [{ 'anything-but': 'offline' }] } },
    event: event({ state: 4 }),
    matches: true,
  },
  {
    name: 'string: absent field',
    pattern: { detail: { state: [{ 'anything-but': 'offline' }] } },
    event: event({}),
    matches: false,
  },
  {
    name: 'string list: excluded value',
    pattern: { detail: { state: [{ 'anything-but': ['offline', 'retired'] }] } },
    event: event({ state: 'retired' }),
    matches: false,
  },
  {
    name: 'string list: other value',
    pattern: { detail: { state: [{ 'anything-but': ['offline', 'retired'] }] } },
    event: event({ state: 'online' }),
    matches: true,
  },
  {
    name: 'string: one element of an event array is not excluded',
    pattern: { detail: { states: [{ 'anything-but': 'offline' }] } },
    event: event({ states: ['offline', 'online'] }),
    matches: true,
  },
  {
    name: 'string: every element of an event array is excluded',
    pattern: { detail: { states: [{ 'anything-but': 'offline' }] } },
    event: event({ states: ['offline'] }),
    matches: false,
  },
  {
    name: 'number: other value',
    pattern: { detail: { level: [{ 'anything-but': 123 }] } },
    event: event({ level: 789 }),
    matches: true,
  },
  {
    name: 'number: excluded value',
    pattern: { detail: { level: [{ 'anything-but': 123 }] } },
    event: event({ level: 123 }),
    matches: false,
  },
  {
    name: 'number: excluded value written differently',
    pattern: '{"detail": {"level": [{"anything-but": 1.23e2}]}}',
    event: event({ level: 123 }),
    matches: false,
  },
  {
    name: 'number: numeric string',
    pattern: { detail: { level: [{ 'anything-but': 123 }] } },
    event: event({ level: '123' }),
    matches: true,
  },
  {
    name: 'number: zero excluded',
    pattern: { detail: { level: [{ 'anything-but': 0 }] } },
    event: event({ level: 0 }),
    matches: false,
  },
  {
    name: 'number list: excluded value',
    pattern: { detail: { level: [{ 'anything-but': [100, 200, 300] }] } },
    event: event({ level: 200 }),
    matches: false,
  },
  {
    name: 'number list: other value',
    pattern: { detail: { level: [{ 'anything-but': [100, 200, 300] }] } },
    event: event({ level: 250 }),
    matches: true,
  },
  {
    name: 'prefix: other prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: event({ state: 'post-init' }),
    matches: true,
  },
  {
    name: 'prefix: excluded prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: event({ state: 'initializing' }),
    matches: false,
  },
  {
    name: 'prefix list: excluded prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: ['init', 'post'] } }] } },
    event: event({ state: 'post-init' }),
    matches: false,
  },
  {
    name: 'prefix: number value',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: event({ state: 12 }),
    matches: true,
  },
  {
    name: 'prefix: absent field',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: event({}),
    matches: false,
  },
  {
    name: 'suffix: other suffix',
    pattern: { detail: { file: [{ 'anything-but': { suffix: '.txt' } }] } },
    event: event({ file: 'notes.txt.bak' }),
    matches: true,
  },
  {
    name: 'suffix: excluded suffix',
    pattern: { detail: { file: [{ 'anything-but': { suffix: '.txt' } }] } },
    event: event({ file: 'notes.txt' }),
    matches: false,
  },
  {
    name: 'suffix list: excluded suffix',
    pattern: { detail: { file: [{ 'anything-but': { suffix: ['.txt', '.jpg'] } }] } },
    event: event({ file: 'photo.jpg' }),
    matches: false,
  },
  {
    name: 'equals-ignore-case: excluded in another case',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] } },
    event: event({ state: 'STOPPED' }),
    matches: false,
  },
  {
    name: 'equals-ignore-case: other value',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] } },
    event: event({ state: 'running' }),
    matches: true,
  },
  {
    name: 'equals-ignore-case list: excluded value',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    event: event({ state: 'overloaded' }),
    matches: false,
  },
  {
    name: 'equals-ignore-case: null value',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] } },
    event: event({ state: null }),
    matches: true,
  },
  {
    name: 'wildcard: excluded shape',
    pattern: { detail: { path: [{ 'anything-but': { wildcard: '*/bin/*.jar' } }] } },
    event: event({ path: '/usr/bin/app.jar' }),
    matches: false,
  },
  {
    name: 'wildcard: other shape',
    pattern: { detail: { path: [{ 'anything-but': { wildcard: '*/bin/*.jar' } }] } },
    event: event({ path: '/usr/lib/app.jar' }),
    matches: true,
  },
  {
    name: 'wildcard list: excluded shape',
    pattern: { detail: { path: [{ 'anything-but': { wildcard: ['*/bin/*.jar', '*/bin/*.class'] } }] } },
    event: event({ path: '/opt/bin/Main.class' }),
    matches: false,
  },
  {
    name: 'wildcard: empty pattern excludes only the empty string',
    pattern: { detail: { path: [{ 'anything-but': { wildcard: '' } }] } },
    event: event({ path: 'dir/init/file' }),
    matches: true,
  },
];

const numericCases: MatchCase[] = [
  {
    name: 'inside an open-closed range',
    pattern: { detail: { c: [{ numeric: ['>', 0, '<=', 5] }] } },
    event: event({ c: 3 }),
    matches: true,
  },
  {
    name: 'open bottom excludes the bound',
    pattern: { detail: { c: [{ numeric: ['>', 0, '<=', 5] }] } },
    event: event({ c: 0 }),
    matches: false,
  },
  {
    name: 'closed top includes the bound',
    pattern: { detail: { c: [{ numeric: ['>', 0, '<=', 5] }] } },
    event: event({ c: 5 }),
    matches: true,
  },
  {
    name: 'just above the top',
    pattern: { detail: { c: [{ numeric: ['>', 0, '<=', 5] }] } },
    event: event({ c: 5.00001 }),
    matches: false,
  },
  {
    name: 'below',
    pattern: { detail: { d: [{ numeric: ['<', 10] }] } },
    event: event({ d: 9.99 }),
    matches: true,
  },
  {
    name: 'below excludes the bound',
    pattern: { detail: { d: [{ numeric: ['<', 10] }] } },
    event: event({ d: 10 }),
    matches: false,
  },
  {
    name: 'at most includes the bound',
    pattern: { detail: { d: [{ numeric: ['<=', 10] }] } },
    event: event({ d: 10 }),
    matches: true,
  },
  {
    name: 'at least includes the bound',
    pattern: { detail: { d: [{ numeric: ['>=', 10] }] } },
    event: event({ d: 10 }),
    matches: true,
  },
  {
    name: 'above a float bound',
    pattern: { detail: { d: [{ numeric: ['>', 100] }] } },
    event: event({ d: 101.0 }),
    matches: true,
  },
  {
    name: 'negative range',
    pattern: { detail: { t: [{ numeric: ['>=', -10, '<', 0] }] } },
    event: event({ t: -5.5 }),
    matches: true,
  },
  {
    name: 'equals',
    pattern: { detail: { x: [{ numeric: ['=', 301.8] }] } },
    event: event({ x: 301.8 }),
    matches: true,
  },
  {
    name: 'equals a value written in exponent form',
    pattern: '{"detail": {"x": [{"numeric": ["=", 3.018e2]}]}}',
    event: event({ x: 301.8 }),
    matches: true,
  },
  {
    name: 'equals another value',
    pattern: { detail: { x: [{ numeric: ['=', 301.8] }] } },
    event: event({ x: 301.9 }),
    matches: false,
  },
  {
    name: 'equality to six digits right of the decimal point',
    pattern: { detail: { x: [{ numeric: ['=', 0] }] } },
    event: event({ x: 0.0000001 }),
    matches: true,
  },
  {
    name: 'never a numeric string',
    pattern: { detail: { d: [{ numeric: ['>', 100] }] } },
    event: event({ d: '300' }),
    matches: false,
  },
  {
    name: 'never null',
    pattern: { detail: { d: [{ numeric: ['>', 100] }] } },
    event: event({ d: null }),
    matches: false,
  },
  {
    name: 'never a boolean',
    pattern: { detail: { d: [{ numeric: ['>', 0] }] } },
    event: event({ d: true }),
    matches: false,
  },
  {
    name: 'never absent',
    pattern: { detail: { d: [{ numeric: ['>', 0] }] } },
    event: event({}),
    matches: false,
  },
  {
    name: 'never a value beyond 5.0e9',
    pattern: { detail: { d: [{ numeric: ['>', 0] }] } },
    event: event({ d: 6e9 }),
    matches: false,
  },
  {
    name: 'any element of an event array',
    pattern: { detail: { d: [{ numeric: ['>', 10] }] } },
    event: event({ d: [1, 20] }),
    matches: true,
  },
  {
    name: 'with other operators in the same field',
    pattern: { detail: { n: [{ numeric: ['>', 100] }, { 'anything-but': '101' }] } },
    event: event({ n: '42' }),
    matches: true,
  },
];

const existsCases: MatchCase[] = [
  {
    name: 'true: present',
    pattern: { detail: { deviceId: [{ exists: true }] } },
    event: event({ deviceId: 'd-1' }),
    matches: true,
  },
  {
    name: 'true: absent',
    pattern: { detail: { deviceId: [{ exists: true }] } },
    event: event({}),
    matches: false,
  },
  {
    name: 'true: null value',
    pattern: { detail: { deviceId: [{ exists: true }] } },
    event: event({ deviceId: null }),
    matches: true,
  },
  {
    name: 'true: empty string',
    pattern: { detail: { deviceId: [{ exists: true }] } },
    event: event({ deviceId: '' }),
    matches: true,
  },
  {
    name: 'true: false value',
    pattern: { detail: { ok: [{ exists: true }] } },
    event: event({ ok: false }),
    matches: true,
  },
  {
    name: 'true: object value is not a leaf',
    pattern: { detail: { metrics: [{ exists: true }] } },
    event: event({ metrics: { temperature: 20 } }),
    matches: false,
  },
  {
    name: 'true: empty array has no value',
    pattern: { resources: [{ exists: true }] },
    event: event({}, { resources: [] }),
    matches: false,
  },
  {
    name: 'false: absent',
    pattern: { detail: { error: [{ exists: false }] } },
    event: event({}),
    matches: true,
  },
  {
    name: 'false: present',
    pattern: { detail: { error: [{ exists: false }] } },
    event: event({ error: 'E1' }),
    matches: false,
  },
  {
    name: 'false: null is present',
    pattern: { detail: { error: [{ exists: false }] } },
    event: event({ error: null }),
    matches: false,
  },
  {
    name: 'false: object value is not a leaf',
    pattern: { detail: { error: [{ exists: false }] } },
    event: event({ error: { code: 'E1' } }),
    matches: true,
  },
  {
    name: 'false: empty array',
    pattern: { detail: { error: [{ exists: false }] } },
    event: event({ error: [] }),
    matches: true,
  },
  {
    name: 'false: parent missing',
    pattern: { detail: { a: { b: { c: [{ exists: false }] } } } },
    event: event({ a: { other: 'x' } }),
    matches: true,
  },
  {
    name: 'false: nested leaf present',
    pattern: { detail: { a: { b: { c: [{ exists: false }] } } } },
    event: event({ a: { b: { c: 'x' } } }),
    matches: false,
  },
  {
    name: 'true: nested leaf inside one element of an array',
    pattern: { detail: { automations: { id: [{ exists: true }] } } },
    event: event({ automations: [{ key: 'v1' }, { id: 'a-1' }, { key: 'v2' }] }),
    matches: true,
  },
  {
    name: 'or absent: absent',
    pattern: { detail: { room: [{ 'anything-but': ['lab'] }, { exists: false }] } },
    event: event({}),
    matches: true,
  },
  {
    name: 'or absent: excluded value',
    pattern: { detail: { room: [{ 'anything-but': ['lab'] }, { exists: false }] } },
    event: event({ room: 'lab' }),
    matches: false,
  },
  {
    name: 'or absent: other value',
    pattern: { detail: { room: [{ 'anything-but': ['lab'] }, { exists: false }] } },
    event: event({ room: 'office' }),
    matches: true,
  },
  {
    name: 'with other matchers in the same field',
    pattern: { detail: { key: [{ exists: true }, { prefix: 'IGNORED' }, { suffix: 'IGNORED' }] } },
    event: event({ key: 'my-value' }),
    matches: true,
  },
];

const cidrCases: MatchCase[] = [
  {
    name: 'IPv4 inside /24',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/24' }] } },
    event: event({ ip: '10.0.0.255' }),
    matches: true,
  },
  {
    name: 'IPv4 outside /24',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/24' }] } },
    event: event({ ip: '10.0.1.0' }),
    matches: false,
  },
  {
    name: 'IPv4 inside /8',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/8' }] } },
    event: event({ ip: '10.200.3.4' }),
    matches: true,
  },
  {
    name: 'IPv4 /0 covers all',
    pattern: { detail: { ip: [{ cidr: '0.0.0.0/0' }] } },
    event: event({ ip: '192.168.1.1' }),
    matches: true,
  },
  {
    name: 'IPv4 /31',
    pattern: { detail: { ip: [{ cidr: '192.168.1.2/31' }] } },
    event: event({ ip: '192.168.1.3' }),
    matches: true,
  },
  {
    name: 'invalid IPv4 value',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/24' }] } },
    event: event({ ip: '10.0.0.256' }),
    matches: false,
  },
  {
    name: 'number value',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/24' }] } },
    event: event({ ip: 123 }),
    matches: false,
  },
  {
    name: 'IPv6 compressed inside',
    pattern: { detail: { ip: [{ cidr: '2001:db8::/32' }] } },
    event: event({ ip: '2001:db8::1' }),
    matches: true,
  },
  {
    name: 'IPv6 expanded inside',
    pattern: { detail: { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] } },
    event: event({ ip: '2001:0db8:1234:1a00:0000:0000:0000:0000' }),
    matches: true,
  },
  {
    name: 'IPv6 upper-case hex inside',
    pattern: { detail: { ip: [{ cidr: '2001:db8::/32' }] } },
    event: event({ ip: '2001:DB8:FFFF::' }),
    matches: true,
  },
  {
    name: 'IPv6 outside',
    pattern: { detail: { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] } },
    event: event({ ip: '2001:0db8:123f:1a01:0000:0000:0000:0000' }),
    matches: false,
  },
  {
    name: 'IPv4 value against an IPv6 block',
    pattern: { detail: { ip: [{ cidr: '::/0' }] } },
    event: event({ ip: '10.0.0.1' }),
    matches: false,
  },
  {
    name: 'exact IPv6 address in another notation',
    pattern: { detail: { ip: ['2001:db8::1'] } },
    event: event({ ip: '2001:0DB8:0:0:0:0:0:1' }),
    matches: true,
  },
];

const wildcardCases: MatchCase[] = [
  {
    name: 'leading star',
    pattern: { detail: { file: [{ wildcard: '*.png' }] } },
    event: event({ file: 'plan.png' }),
    matches: true,
  },
  {
    name: 'leading star mismatch',
    pattern: { detail: { file: [{ wildcard: '*.png' }] } },
    event: event({ file: 'plan.jpg' }),
    matches: false,
  },
  {
    name: 'star in an ARN',
    pattern: { detail: { arn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } },
    event: event({ arn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' }),
    matches: true,
  },
  {
    name: 'star spans path separators',
    pattern: { detail: { file: [{ wildcard: '/Users/*/doc.txt' }] } },
    event: event({ file: '/Users/ls_user/dir/dir/dir/doc.txt' }),
    matches: true,
  },
  {
    name: 'repeating sequence after a star',
    pattern: { detail: { file: [{ wildcard: '/Users/*/dir/dir/doc.txt' }] } },
    event: event({ file: '/Users/me/dir/dir/dir/doc.txt' }),
    matches: true,
  },
  {
    name: 'repeating sequence mismatch',
    pattern: { detail: { file: [{ wildcard: '/Users/*/dir/dir/doc.txt' }] } },
    event: event({ file: '/Users/me/dir/other/doc.txt' }),
    matches: false,
  },
  {
    name: 'stars around',
    pattern: { detail: { title: [{ wildcard: '*Title*' }] } },
    event: event({ title: 'A Title here' }),
    matches: true,
  },
  {
    name: 'star matches empty',
    pattern: { detail: { title: [{ wildcard: 'a*b' }] } },
    event: event({ title: 'ab' }),
    matches: true,
  },
  {
    name: 'lone star matches any string',
    pattern: { source: [{ wildcard: '*' }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'lone star never matches a number',
    pattern: { detail: { n: [{ wildcard: '*' }] } },
    event: event({ n: 1 }),
    matches: false,
  },
  {
    name: 'empty matches empty',
    pattern: { detail: { t: [{ wildcard: '' }] } },
    event: event({ t: '' }),
    matches: true,
  },
  {
    name: 'empty does not match text',
    pattern: { detail: { t: [{ wildcard: '' }] } },
    event: event({ t: 'x' }),
    matches: false,
  },
  {
    name: 'without stars is exact',
    pattern: { source: [{ wildcard: 'sensorbus.ingest' }] },
    event: event({}),
    matches: true,
  },
  {
    name: 'case-sensitive',
    pattern: { source: [{ wildcard: 'Sensorbus.*' }] },
    event: event({}),
    matches: false,
  },
  {
    name: 'escaped star is literal',
    pattern: { detail: { t: [{ wildcard: 'a\\*b' }] } },
    event: event({ t: 'a*b' }),
    matches: true,
  },
  {
    name: 'escaped star is not a wildcard',
    pattern: { detail: { t: [{ wildcard: 'a\\*b' }] } },
    event: event({ t: 'axb' }),
    matches: false,
  },
  {
    name: 'escaped backslash',
    pattern: { detail: { t: [{ wildcard: 'a\\\\*' }] } },
    event: event({ t: 'a\\tail' }),
    matches: true,
  },
  {
    name: 'overlapping segments',
    pattern: { detail: { t: [{ wildcard: '*aba*aba' }] } },
    event: event({ t: 'xabababa' }),
    matches: true,
  },
];

const orCases: MatchCase[] = [
  {
    name: 'first branch',
    pattern: { source: ['sensorbus.ingest'], $or: [{ detail: { level: [1] } }, { detail: { zone: ['a'] } }] },
    event: event({ level: 1 }),
    matches: true,
  },
  {
    name: 'second branch',
    pattern: { source: ['sensorbus.ingest'], $or: [{ detail: { level: [1] } }, { detail: { zone: ['a'] } }] },
    event: event({ zone: 'a' }),
    matches: true,
  },
  {
    name: 'no branch',
    pattern: { source: ['sensorbus.ingest'], $or: [{ detail: { level: [1] } }, { detail: { zone: ['a'] } }] },
    event: event({ level: 2, zone: 'b' }),
    matches: false,
  },
  {
    name: 'branch matches but a sibling field does not',
    pattern: { source: ['aws.ec2'], $or: [{ detail: { level: [1] } }, { detail: { zone: ['a'] } }] },
    event: event({ level: 1 }),
    matches: false,
  },
  {
    name: 'inside detail',
    pattern: {
      detail: {
        $or: [
          { c: [{ numeric: ['>', 0, '<=', 5] }] },
          { d: [{ numeric: ['<', 10] }] },
          { x: [{ numeric: ['=', 301.8] }] },
        ],
      },
    },
    event: event({ c: 0, d: 0, x: 901.8 }),
    matches: true,
  },
  {
    name: 'inside detail, none',
    pattern: {
      detail: {
        $or: [
          { c: [{ numeric: ['>', 0, '<=', 5] }] },
          { d: [{ numeric: ['<', 10] }] },
          { x: [{ numeric: ['=', 301.8] }] },
        ],
      },
    },
    event: event({ c: 0, d: 10, x: 901.8 }),
    matches: false,
  },
  {
    name: 'nested in a branch',
    pattern: {
      source: ['sensorbus.ingest'],
      $or: [
        { detail: { metric: ['cpu'] } },
        { detail: { kind: ['gauge'], $or: [{ id: [1234] }, { space: [1000] }] } },
      ],
    },
    event: event({ kind: 'gauge', space: 1000 }),
    matches: true,
  },
  {
    name: 'nested in a branch, inner none',
    pattern: {
      source: ['sensorbus.ingest'],
      $or: [
        { detail: { metric: ['cpu'] } },
        { detail: { kind: ['gauge'], $or: [{ id: [1234] }, { space: [1000] }] } },
      ],
    },
    event: event({ kind: 'gauge', space: 1 }),
    matches: false,
  },
  {
    name: 'parallel at two levels',
    pattern: {
      $or: [{ source: ['aws.ec2'] }, { 'detail-type': ['ReadingRecorded'] }],
      detail: { $or: [{ zone: ['a'] }, { level: [{ numeric: ['>', 5] }] }] },
    },
    event: event({ level: 7 }),
    matches: true,
  },
  {
    name: 'parallel at two levels, one level fails',
    pattern: {
      $or: [{ source: ['aws.ec2'] }, { 'detail-type': ['AlertRaised'] }],
      detail: { $or: [{ zone: ['a'] }, { level: [{ numeric: ['>', 5] }] }] },
    },
    event: event({ level: 7 }),
    matches: false,
  },
  {
    name: 'branch with exists false',
    pattern: { detail: { $or: [{ error: [{ exists: false }] }, { retry: [true] }] } },
    event: event({ error: 'E1', retry: true }),
    matches: true,
  },
];

const arrayConsistencyCases: MatchCase[] = [
  {
    name: 'one element satisfies every field',
    pattern: { detail: { sensors: { kind: ['temp'], unit: ['C'] } } },
    event: event({
      sensors: [
        { kind: 'humidity', unit: '%' },
        { kind: 'temp', unit: 'C' },
      ],
    }),
    matches: true,
  },
  {
    name: 'fields satisfied by different elements',
    pattern: { detail: { sensors: { kind: ['temp'], unit: ['%'] } } },
    event: event({
      sensors: [
        { kind: 'humidity', unit: '%' },
        { kind: 'temp', unit: 'C' },
      ],
    }),
    matches: false,
  },
  {
    name: 'one field matches across elements',
    pattern: { detail: { sensors: { kind: ['temp'] } } },
    event: event({ sensors: [{ kind: 'humidity' }, { kind: 'temp' }] }),
    matches: true,
  },
  {
    name: 'nested arrays stay consistent',
    pattern: { detail: { groups: { first: ['Anna'], last: ['Jones'] } } },
    event: event({
      groups: [
        [
          { first: 'John', last: 'Doe' },
          { first: 'Anna', last: 'Smith' },
        ],
        [{ first: 'Peter', last: 'Jones' }],
      ],
    }),
    matches: false,
  },
  {
    name: 'nested arrays, same element',
    pattern: { detail: { groups: { first: ['Anna'], last: ['Smith'] } } },
    event: event({
      groups: [
        [
          { first: 'John', last: 'Doe' },
          { first: 'Anna', last: 'Smith' },
        ],
        [{ first: 'Peter', last: 'Jones' }],
      ],
    }),
    matches: true,
  },
  {
    name: 'scalar arrays inside an element',
    pattern: { detail: { sensors: { id: ['s-2'], tags: ['outdoor'] } } },
    event: event({
      sensors: [
        { id: 's-1', tags: ['outdoor'] },
        { id: 's-2', tags: ['indoor', 'outdoor'] },
      ],
    }),
    matches: true,
  },
  {
    name: 'scalar arrays inside a different element',
    pattern: { detail: { sensors: { id: ['s-1'], tags: ['indoor'] } } },
    event: event({
      sensors: [
        { id: 's-1', tags: ['outdoor'] },
        { id: 's-2', tags: ['indoor', 'outdoor'] },
      ],
    }),
    matches: false,
  },
  {
    name: 'exists false looks at the element chosen by fields sorting before it',
    pattern: { detail: { sensors: { kind: ['temp'], zone: [{ exists: false }] } } },
    event: event({ sensors: [{ kind: 'temp' }, { kind: 'humidity', zone: 'roof' }] }),
    matches: true,
  },
  {
    name: 'exists false sorting first looks at every element, as event-ruler does',
    pattern: { detail: { sensors: { alarm: [{ exists: false }], kind: ['temp'] } } },
    event: event({ sensors: [{ kind: 'temp' }, { kind: 'humidity', alarm: 'drift' }] }),
    matches: false,
  },
  {
    name: 'field outside the array combines with any element',
    pattern: { detail: { site: ['lab'], sensors: { kind: ['temp'] } } },
    event: event({ site: 'lab', sensors: [{ kind: 'humidity' }, { kind: 'temp' }] }),
    matches: true,
  },
  {
    name: '$or branches over array elements',
    pattern: { detail: { sensors: { $or: [{ kind: ['co2'] }, { unit: ['C'] }] } } },
    event: event({
      sensors: [
        { kind: 'humidity', unit: '%' },
        { kind: 'temp', unit: 'C' },
      ],
    }),
    matches: true,
  },
];

const invalidCases: InvalidCase[] = [
  { name: 'array instead of object', pattern: '["source"]', reason: 'Filter is not an object' },
  { name: 'null', pattern: 'null', reason: 'Filter is not an object' },
  { name: 'string', pattern: '"source"', reason: 'Filter is not an object' },
  { name: 'leaf string', pattern: { source: 'aws.ec2' }, reason: '"source" must be an object or an array' },
  { name: 'leaf number', pattern: { detail: { int: 42 } }, reason: '"int" must be an object or an array' },
  { name: 'empty pattern', pattern: {}, reason: 'Empty objects are not allowed' },
  { name: 'empty nested object', pattern: { detail: {} }, reason: 'Empty objects are not allowed' },
  { name: 'empty match array', pattern: { resources: [] }, reason: 'Empty arrays are not allowed' },
  {
    name: 'array as match value',
    pattern: { source: [['a']] },
    reason: 'Match value must be String, number, true, false, or null',
  },
  { name: 'empty match expression', pattern: { source: [{}] }, reason: 'Match expression name not found' },
  { name: 'unknown operator', pattern: { source: [{ foo: 'a' }] }, reason: 'Unrecognized match type foo' },
  {
    name: 'operators are case-sensitive',
    pattern: { detail: { k: [{ EXISTS: true }] } },
    reason: 'Unrecognized match type EXISTS',
  },
  {
    name: 'exactly number',
    pattern: { source: [{ exactly: 1 }] },
    reason: 'exact match pattern must be a string',
  },
  {
    name: 'prefix number',
    pattern: { time: [{ prefix: 123 }] },
    reason: 'prefix match pattern must be a string',
  },
  {
    name: 'prefix list',
    pattern: { time: [{ prefix: ['2022'] }] },
    reason: 'prefix match pattern must be a string',
  },
  {
    name: 'prefix object key',
    pattern: { time: [{ prefix: { foo: 'a' } }] },
    reason: 'Unsupported prefix pattern: foo',
  },
  {
    name: 'prefix empty object',
    pattern: { time: [{ prefix: {} }] },
    reason: 'Prefix expression name not found',
  },
  {
    name: 'prefix equals-ignore-case number',
    pattern: { time: [{ prefix: { 'equals-ignore-case': 1 } }] },
    reason: 'equals-ignore-case match pattern must be a string',
  },
  {
    name: 'prefix with a second key',
    pattern: { time: [{ prefix: 'a', suffix: 'b' }] },
    reason: 'Only one key allowed in match expression',
  },
  {
    name: 'suffix number',
    pattern: { file: [{ suffix: 123 }] },
    reason: 'suffix match pattern must be a string',
  },
  {
    name: 'suffix list',
    pattern: { file: [{ suffix: ['.png'] }] },
    reason: 'suffix match pattern must be a string',
  },
  {
    name: 'suffix object key',
    pattern: { file: [{ suffix: { prefix: 'a' } }] },
    reason: 'Unsupported suffix pattern: prefix',
  },
  {
    name: 'equals-ignore-case number',
    pattern: { s: [{ 'equals-ignore-case': 1 }] },
    reason: 'equals-ignore-case match pattern must be a string',
  },
  {
    name: 'equals-ignore-case list',
    pattern: { s: [{ 'equals-ignore-case': ['a'] }] },
    reason: 'equals-ignore-case match pattern must be a string',
  },
  {
    name: 'equals-ignore-case object',
    pattern: { s: [{ 'equals-ignore-case': { prefix: 'a' } }] },
    reason: 'equals-ignore-case match pattern must be a string',
  },
  {
    name: 'anything-but null',
    pattern: { s: [{ 'anything-but': null }] },
    reason: 'Value of anything-but must be an array or single string/number value.',
  },
  {
    name: 'anything-but boolean',
    pattern: { s: [{ 'anything-but': true }] },
    reason: 'Value of anything-but must be an array or single string/number value.',
  },
  {
    name: 'anything-but list with null',
    pattern: { s: [{ 'anything-but': ['stopped', null] }] },
    reason: 'Inside anything but list, start|null|boolean is not supported.',
  },
  {
    name: 'anything-but mixed list',
    pattern: { s: [{ 'anything-but': ['a', 1] }] },
    reason: 'Inside anything but list, either all values are number or string, mixed type is not supported',
  },
  {
    name: 'anything-but empty list',
    pattern: { s: [{ 'anything-but': [] }] },
    reason: 'Inside anything but list, either all values are number or string, mixed type is not supported',
  },
  {
    name: 'anything-but empty prefix',
    pattern: { s: [{ 'anything-but': { prefix: '' } }] },
    reason: 'Null prefix/suffix not allowed',
  },
  {
    name: 'anything-but empty suffix',
    pattern: { s: [{ 'anything-but': { suffix: '' } }] },
    reason: 'Null prefix/suffix not allowed',
  },
  {
    name: 'anything-but prefix number',
    pattern: { s: [{ 'anything-but': { prefix: 123 } }] },
    reason: 'prefix/suffix match pattern must be a string',
  },
  {
    name: 'anything-but suffix list with number',
    pattern: { s: [{ 'anything-but': { suffix: [123, '.txt'] } }] },
    reason: 'prefix/suffix match pattern must be a string',
  },
  {
    name: 'anything-but prefix equals-ignore-case',
    pattern: { s: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'file' } } }] },
    reason: 'Value of anything-but must be an array or single string/number value.',
  },
  {
    name: 'anything-but unknown kind',
    pattern: { s: [{ 'anything-but': { foo: 'x' } }] },
    reason: 'Unsupported anything-but pattern: foo',
  },
  {
    name: 'anything-but empty object',
    pattern: { s: [{ 'anything-but': {} }] },
    reason: 'Anything-But expression name not found',
  },
  {
    name: 'anything-but equals-ignore-case number',
    pattern: { s: [{ 'anything-but': { 'equals-ignore-case': [123, 456] } }] },
    reason: 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  },
  {
    name: 'anything-but wildcard number',
    pattern: { s: [{ 'anything-but': { wildcard: 123 } }] },
    reason: 'wildcard match pattern must be a string',
  },
  {
    name: 'anything-but wildcard with consecutive stars',
    pattern: { s: [{ 'anything-but': { wildcard: 'a**' } }] },
    reason: 'Consecutive wildcard characters at pos 2',
  },
  {
    name: 'anything-but number out of range',
    pattern: { s: [{ 'anything-but': 6e9 }] },
    reason: 'Value must be between -5.0E9 and 5.0E9, inclusive',
  },
  {
    name: 'anything-but with a second key',
    pattern: { s: [{ 'anything-but': 'a', prefix: 'b' }] },
    reason: 'Too many elements in numeric expression',
  },
  {
    name: 'numeric not an array',
    pattern: { c: [{ numeric: 10 }] },
    reason: 'Value of numeric must be an array.',
  },
  { name: 'numeric empty', pattern: { c: [{ numeric: [] }] }, reason: 'Invalid member in numeric match: ]' },
  {
    name: 'numeric without operator',
    pattern: { c: [{ numeric: [5] }] },
    reason: 'Invalid member in numeric match: 5',
  },
  {
    name: 'numeric unknown operator',
    pattern: { c: [{ numeric: ['!=', 5] }] },
    reason: 'Unrecognized numeric range operator: !=',
  },
  {
    name: 'numeric equals string',
    pattern: { c: [{ numeric: ['=', '5'] }] },
    reason: 'Value of equals must be numeric',
  },
  {
    name: 'numeric operator without value',
    pattern: { c: [{ numeric: ['<'] }] },
    reason: 'Value of < must be numeric',
  },
  {
    name: 'numeric two lower bounds',
    pattern: { c: [{ numeric: ['>', 0, '>', 0] }] },
    reason: 'Bad numeric range operator: >',
  },
  {
    name: 'numeric number as second operator',
    pattern: { c: [{ numeric: ['>', 0, 5] }] },
    reason: 'Bad value in numeric range: 5',
  },
  {
    name: 'numeric upper bound without value',
    pattern: { c: [{ numeric: ['>', 0, '<'] }] },
    reason: 'Value of < must be numeric',
  },
  {
    name: 'numeric range with extra term',
    pattern: { c: [{ numeric: ['>', 0, '<', 5, 6] }] },
    reason: 'Too many terms in numeric range expression',
  },
  {
    name: 'numeric upper bound first',
    pattern: { c: [{ numeric: ['<', 5, '>', 0] }] },
    reason: 'Too many elements in numeric expression',
  },
  {
    name: 'numeric equals with range',
    pattern: { c: [{ numeric: ['=', 5, '<', 6] }] },
    reason: 'Too many elements in numeric expression',
  },
  {
    name: 'numeric inverted range',
    pattern: { c: [{ numeric: ['>', 10, '<', 5] }] },
    reason: 'Bottom must be less than top',
  },
  {
    name: 'numeric empty range',
    pattern: { c: [{ numeric: ['>=', 5, '<=', 5] }] },
    reason: 'Bottom must be less than top',
  },
  {
    name: 'numeric equals beyond 5.0e9',
    pattern: { c: [{ numeric: ['=', 5000000001] }] },
    reason: 'Value must be between -5.0E9 and 5.0E9, inclusive',
  },
  {
    name: 'numeric below 6.0e9',
    pattern: { c: [{ numeric: ['<', 6e9] }] },
    reason: 'Value must be between -5.0E9 and 5.0E9, inclusive',
  },
  {
    name: 'numeric above -6.0e9',
    pattern: { c: [{ numeric: ['>', -6e9] }] },
    reason: 'Value must be between -5.0E9 and 5.0E9, inclusive',
  },
  {
    name: 'numeric at least 5.0e9',
    pattern: { c: [{ numeric: ['>=', 5e9] }] },
    reason: 'Bottom must be less than top',
  },
  {
    name: 'numeric with a second key',
    pattern: { c: [{ numeric: ['>', 0], exists: true }] },
    reason: 'Too many elements in numeric expression',
  },
  {
    name: 'exists string',
    pattern: { c: [{ exists: 'true' }] },
    reason: 'exists match pattern must be either true or false.',
  },
  {
    name: 'exists null',
    pattern: { c: [{ exists: null }] },
    reason: 'exists match pattern must be either true or false.',
  },
  {
    name: 'exists with a second key',
    pattern: { c: [{ exists: true, prefix: 'a' }] },
    reason: 'Only one key allowed in match expression',
  },
  {
    name: 'cidr list',
    pattern: { ip: [{ cidr: ['10.0.0.0/8'] }] },
    reason: 'prefix match pattern must be a string',
  },
  {
    name: 'cidr without mask',
    pattern: { ip: [{ cidr: 'bad-filter' }] },
    reason: "Malformed CIDR, one '/' required",
  },
  {
    name: 'cidr with two masks',
    pattern: { ip: [{ cidr: '10.0.0.0/24/8' }] },
    reason: "Malformed CIDR, one '/' required",
  },
  {
    name: 'cidr mask not a number',
    pattern: { ip: [{ cidr: 'bad-/64filter' }] },
    reason: 'Malformed CIDR, mask bits must be an integer',
  },
  {
    name: 'cidr negative mask',
    pattern: { ip: [{ cidr: '10.0.0.0/-1' }] },
    reason: 'Malformed CIDR, mask bits must not be negative',
  },
  {
    name: 'cidr not an address',
    pattern: { ip: [{ cidr: 'xx.11.xx/8' }] },
    reason: 'Nonstandard IP address: xx.11.xx',
  },
  {
    name: 'cidr octet above 255',
    pattern: { ip: [{ cidr: '10.0.0.256/24' }] },
    reason: 'Invalid IP address: 10.0.0.256',
  },
  {
    name: 'cidr IPv4 /32',
    pattern: { ip: [{ cidr: '10.0.0.1/32' }] },
    reason: 'IPv4 mask bits must be < 32',
  },
  {
    name: 'cidr IPv6 /128',
    pattern: { ip: [{ cidr: '2001:db8::1/128' }] },
    reason: 'IPv6 mask bits must be < 128',
  },
  {
    name: 'cidr IPv6 two gaps',
    pattern: { ip: [{ cidr: '2001::db8::/64' }] },
    reason: 'Invalid IP address: 2001::db8::',
  },
  {
    name: 'cidr IPv6 not hex',
    pattern: { ip: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] },
    reason: 'Nonstandard IP address: xxxx:db8:1234:1a00::',
  },
  {
    name: 'wildcard number',
    pattern: { arn: [{ wildcard: 123 }] },
    reason: 'wildcard match pattern must be a string',
  },
  {
    name: 'wildcard list',
    pattern: { arn: [{ wildcard: ['a*'] }] },
    reason: 'wildcard match pattern must be a string',
  },
  {
    name: 'wildcard consecutive stars',
    pattern: { arn: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] },
    reason: 'Consecutive wildcard characters at pos 26',
  },
  {
    name: 'wildcard position counts UTF-8 bytes',
    pattern: { t: [{ wildcard: 'é**' }] },
    reason: 'Consecutive wildcard characters at pos 3',
  },
  {
    name: 'wildcard unknown escape',
    pattern: { t: [{ wildcard: 'a\\b' }] },
    reason: 'Invalid escape character at pos 2',
  },
  {
    name: 'wildcard trailing backslash',
    pattern: { t: [{ wildcard: 'ab\\' }] },
    reason: 'Invalid escape character at pos 3',
  },
  {
    name: 'wildcard too complex',
    pattern: { arn: [{ wildcard: '*:*:*:*:*:event-bus/*' }] },
    reason:
      'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
  },
  {
    name: 'wildcards of one field add up',
    pattern: { arn: [{ wildcard: '*:*:*:*' }, { wildcard: '*:*:*:x' }] },
    reason:
      'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
  },
  {
    name: '$or not an array',
    pattern: { $or: { a: ['x'] } },
    reason: 'It must be an Array followed with $or.',
  },
  {
    name: '$or with one branch',
    pattern: { $or: [{ a: ['x'] }] },
    reason: 'There must have at least 2 Objects in $or relationship.',
  },
  {
    name: '$or empty',
    pattern: { $or: [] },
    reason: 'There must have at least 2 Objects in $or relationship.',
  },
  {
    name: '$or with a value',
    pattern: { $or: [{ a: ['x'] }, 'b'] },
    reason: 'Only JSON object is allowed in array of $or relationship.',
  },
  {
    name: '$or branch using an operator name',
    pattern: { $or: [{ numeric: [123] }, { prefix: ['abc'] }] },
    reason: 'numeric is Ruler reserved fieldName which cannot be used inside $or.',
  },
  { name: '$or empty branch', pattern: { $or: [{}, { a: ['x'] }] }, reason: 'Empty objects are not allowed' },
];

const awsRecorded = z
  .object({
    cases: z.array(
      z.object({
        name: z.string(),
        pattern: z.record(z.string(), z.unknown()),
        event: z.record(z.string(), z.unknown()),
        matches: z.boolean().optional(),
        error: z.string().optional(),
      }),
    ),
  })
  .parse(
    JSON.parse(
      readFileSync(new URL('../../../../fixtures/event-patterns/aws-recorded.json', import.meta.url), 'utf8'),
    ),
  );

const errorOf = (action: () => unknown): unknown => {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('event pattern matching', () => {
  describe.each([
    { operator: 'exact values', cases: exactCases },
    { operator: 'prefix and suffix', cases: prefixSuffixCases },
    { operator: 'equals-ignore-case', cases: equalsIgnoreCaseCases },
    { operator: 'anything-but', cases: anythingButCases },
    { operator: 'numeric', cases: numericCases },
    { operator: 'exists', cases: existsCases },
    { operator: 'cidr', cases: cidrCases },
    { operator: 'wildcard', cases: wildcardCases },
    { operator: '$or', cases: orCases },
    { operator: 'arrays of objects', cases: arrayConsistencyCases },
  ])('$operator', ({ cases }) => {
    it.each(cases)('$name', ({ pattern, event: candidate, matches }) => {
      const compiled = compilePattern(pattern);

      const result = compiled.matches(candidate);

      expect(result).toBe(matches);
    });
  });
});

describe('event pattern validation', () => {
  it.each(invalidCases)('$name', ({ pattern, reason }) => {
    const error = errorOf(() => compilePattern(pattern));

    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect(error).toMatchObject({
      code: 'InvalidEventPatternException',
      message: `Event pattern is not valid. Reason: ${reason}`,
    });
  });

  it('reports JSON that does not parse with the same error', () => {
    const error = errorOf(() => compilePattern('{"source": ['));

    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect(error).toMatchObject({ message: expect.stringMatching(/^Event pattern is not valid\. Reason: /) });
  });
});

describe('answers AWS recorded for TestEventPattern', () => {
  it.each(awsRecorded.cases)('$name', ({ pattern, event: candidate, matches, error }) => {
    const outcome =
      errorOf(() => testEventPattern(pattern, candidate)) ?? testEventPattern(pattern, candidate);

    if (error === undefined) expect(outcome).toBe(matches);
    else expect(outcome).toMatchObject({ message: error });
  });
});

describe('compiled patterns', () => {
  it('compile the same from JSON text and from an object', () => {
    const text = '{"source": ["sensorbus.ingest"], "detail": {"level": [{"numeric": [">", 5]}]}}';

    const fromText = compilePattern(text);
    const fromObject = compilePattern(JSON.parse(text));

    expect(fromText.source).toEqual(JSON.parse(text));
    expect(fromObject.source).toEqual(fromText.source);
    expect(fromText.matches(event({ level: 6 }))).toBe(true);
    expect(fromObject.matches(event({ level: 4 }))).toBe(false);
  });

  it('are not affected by later changes to the pattern object', () => {
    const pattern = { source: ['sensorbus.ingest'] };
    const compiled = compilePattern(pattern);

    pattern.source[0] = 'aws.ec2';

    expect(compiled.matches(event({}))).toBe(true);
    expect(compiled.source).toEqual({ source: ['sensorbus.ingest'] });
  });

  it.each([
    { name: 'a JSON string', candidate: JSON.stringify(event({})) },
    { name: 'an array', candidate: [event({})] },
    { name: 'null', candidate: null },
  ])('never match $name as the event', ({ candidate }) => {
    const compiled = compilePattern({ detail: { error: [{ exists: false }] } });

    expect(compiled.matches(candidate)).toBe(false);
  });

  it('match many events after one compilation', () => {
    const compiled = compilePattern({ detail: { level: [{ numeric: ['>=', 50] }] } });

    const matched = Array.from({ length: 100 }, (_, level) => event({ level })).filter((candidate) =>
      compiled.matches(candidate),
    );

    expect(matched).toHaveLength(50);
  });
});

describe('testEventPattern', () => {
  it('validates the pattern before matching', () => {
    expect(() => testEventPattern({ source: 'sensorbus.ingest' }, event({}))).toThrow(
      InvalidEventPatternError,
    );
  });

  it('answers whether the event matches', () => {
    expect(testEventPattern({ source: ['sensorbus.ingest'] }, event({}))).toBe(true);
    expect(testEventPattern({ source: ['aws.ec2'] }, event({}))).toBe(false);
  });
});
