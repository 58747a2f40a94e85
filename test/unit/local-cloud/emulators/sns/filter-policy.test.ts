import { describe, expect, it } from 'vitest';
import {
  compileFilterPolicy,
  type FilterPolicyScope,
  InvalidFilterPolicyError,
  type SnsMessageAttribute,
} from '../../../../../local-cloud/emulators/sns/filter-policy.ts';

// Policies and messages marked "recorded" come from calls recorded on AWS (LocalStack
// tests/aws/services/sns/test_sns_filter_policy.py and its snapshot); "docs" ones from the SNS guide
// (https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html and subpages).

const str = (StringValue: string): SnsMessageAttribute => ({ DataType: 'String', StringValue });
const num = (StringValue: string): SnsMessageAttribute => ({ DataType: 'Number', StringValue });
const arr = (values: unknown[]): SnsMessageAttribute => ({
  DataType: 'String.Array',
  StringValue: JSON.stringify(values),
});
const bin = (): SnsMessageAttribute => ({ DataType: 'Binary', BinaryValue: new Uint8Array([1, 2]) });

const withAttributes = (attributes: Record<string, SnsMessageAttribute>) => ({ attributes, body: 'hello' });
const withBody = (body: unknown) => ({
  attributes: {},
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('compileFilterPolicy with MessageAttributes scope', () => {
  it.each<{
    name: string;
    policy: unknown;
    attributes: Record<string, SnsMessageAttribute>;
    matches: boolean;
  }>([
    {
      name: 'exact string (docs)',
      policy: { customer_interests: ['rugby', 'tennis'] },
      attributes: { customer_interests: str('tennis') },
      matches: true,
    },
    {
      name: 'exact string, other value (docs)',
      policy: { customer_interests: ['rugby', 'tennis'] },
      attributes: { customer_interests: str('baseball') },
      matches: false,
    },
    {
      name: 'exact string is case-sensitive',
      policy: { customer_interests: ['rugby'] },
      attributes: { customer_interests: str('Rugby') },
      matches: false,
    },
    {
      name: 'String.Array where one element matches (docs)',
      policy: { customer_interests: ['rugby', 'tennis'] },
      attributes: { customer_interests: arr(['soccer', 'rugby', 'hockey']) },
      matches: true,
    },
    {
      name: 'String.Array where no element matches (docs)',
      policy: { customer_interests: ['rugby', 'tennis'] },
      attributes: { customer_interests: arr(['baseball']) },
      matches: false,
    },
    {
      name: 'String.Array matching the recorded store value (recorded)',
      policy: { store: ['value1'] },
      attributes: { store: arr(['value1', 'value2']) },
      matches: true,
    },
    {
      name: 'String.Array without the recorded store value (recorded)',
      policy: { store: ['value1'] },
      attributes: { store: arr(['value2', 'value3']) },
      matches: false,
    },
    {
      name: 'prefix (docs)',
      policy: { customer_interests: [{ prefix: 'bas' }] },
      attributes: { customer_interests: str('basketball') },
      matches: true,
    },
    {
      name: 'prefix, other value (docs)',
      policy: { customer_interests: [{ prefix: 'bas' }] },
      attributes: { customer_interests: str('rugby') },
      matches: false,
    },
    {
      name: 'suffix',
      policy: { image: [{ suffix: '.png' }] },
      attributes: { image: str('sensor-7.png') },
      matches: true,
    },
    {
      name: 'equals-ignore-case',
      policy: { level: [{ 'equals-ignore-case': 'WARNING' }] },
      attributes: { level: str('Warning') },
      matches: true,
    },
    {
      name: 'anything-but a list (docs)',
      policy: { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] },
      attributes: { customer_interests: str('football') },
      matches: true,
    },
    {
      name: 'anything-but a listed value (docs)',
      policy: { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] },
      attributes: { customer_interests: str('rugby') },
      matches: false,
    },
    {
      name: 'anything-but on a String.Array holding an excluded element',
      policy: { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] },
      attributes: { customer_interests: arr(['rugby', 'baseball']) },
      matches: false,
    },
    {
      name: 'anything-but on a String.Array without excluded elements',
      policy: { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] },
      attributes: { customer_interests: arr(['baseball', 'football']) },
      matches: true,
    },
    {
      name: 'anything-but a prefix (docs)',
      policy: { event: [{ 'anything-but': { prefix: 'order-' } }] },
      attributes: { event: str('order_number') },
      matches: true,
    },
    {
      name: 'anything-but a prefix, excluded value (docs)',
      policy: { event: [{ 'anything-but': { prefix: 'order-' } }] },
      attributes: { event: str('order-cancelled') },
      matches: false,
    },
    {
      name: 'anything-but does not match a missing attribute',
      policy: { event: [{ 'anything-but': 'order' }] },
      attributes: {},
      matches: false,
    },
    {
      name: 'anything-but combined with exists false matches a missing attribute (docs)',
      policy: { event: [{ 'anything-but': 'order' }, { exists: false }] },
      attributes: {},
      matches: true,
    },
    {
      name: 'null or anything-but does not match a message without attributes (recorded)',
      policy: { attr1: [null, { 'anything-but': 'whatever' }] },
      attributes: {},
      matches: false,
    },
    {
      name: 'numeric equals with exponent notation (docs)',
      policy: { price_usd: [{ numeric: ['=', 301.5] }] },
      attributes: { price_usd: num('3.015e2') },
      matches: true,
    },
    {
      name: 'numeric range inside (recorded)',
      policy: { attr1: [{ numeric: ['>', 0, '<=', 100] }] },
      attributes: { attr1: num('99') },
      matches: true,
    },
    {
      name: 'numeric range above the top (recorded)',
      policy: { attr1: [{ numeric: ['>', 0, '<=', 100] }] },
      attributes: { attr1: num('111') },
      matches: false,
    },
    {
      name: 'numeric range at the inclusive top',
      policy: { attr1: [{ numeric: ['>', 0, '<=', 100] }] },
      attributes: { attr1: num('100') },
      matches: true,
    },
    {
      name: 'numeric range at the exclusive bottom',
      policy: { attr1: [{ numeric: ['>', 0, '<=', 100] }] },
      attributes: { attr1: num('0') },
      matches: false,
    },
    {
      name: 'numeric less than zero (docs)',
      policy: { price_usd: [{ numeric: ['<', 0] }] },
      attributes: { price_usd: num('-0.5') },
      matches: true,
    },
    {
      name: 'numeric does not match a String attribute',
      policy: { attr1: [{ numeric: ['>', 0] }] },
      attributes: { attr1: str('99') },
      matches: false,
    },
    {
      name: 'exact number matches an equal Number attribute',
      policy: { count: [100] },
      attributes: { count: num('100.0') },
      matches: true,
    },
    {
      name: 'exact number does not match a String attribute',
      policy: { count: [100] },
      attributes: { count: str('100') },
      matches: false,
    },
    {
      name: 'numeric anything-but (docs)',
      policy: { price: [{ 'anything-but': [100, 500] }] },
      attributes: { price: num('100.1') },
      matches: true,
    },
    {
      name: 'numeric anything-but, excluded value (docs)',
      policy: { price: [{ 'anything-but': [100, 500] }] },
      attributes: { price: num('100') },
      matches: false,
    },
    {
      name: 'exists true with the attribute (recorded)',
      policy: { store: [{ exists: true }] },
      attributes: { store: num('99'), def: num('99') },
      matches: true,
    },
    {
      name: 'exists true without the attribute (recorded)',
      policy: { store: [{ exists: true }] },
      attributes: { attr1: num('111') },
      matches: false,
    },
    {
      name: 'exists false without the attribute (recorded)',
      policy: { store: [{ exists: false }] },
      attributes: { def: num('99') },
      matches: true,
    },
    {
      name: 'exists false with the attribute (recorded)',
      policy: { store: [{ exists: false }] },
      attributes: { store: num('99'), def: num('99') },
      matches: false,
    },
    {
      name: 'a Binary attribute is ignored by exists true',
      policy: { picture: [{ exists: true }] },
      attributes: { picture: bin() },
      matches: false,
    },
    {
      name: 'a Binary attribute counts as absent for exists false',
      policy: { picture: [{ exists: false }] },
      attributes: { picture: bin() },
      matches: true,
    },
    {
      name: 'cidr inside the subnet (docs)',
      policy: { source_ip: [{ cidr: '10.0.0.0/24' }] },
      attributes: { source_ip: str('10.0.0.255') },
      matches: true,
    },
    {
      name: 'cidr outside the subnet (docs)',
      policy: { source_ip: [{ cidr: '10.0.0.0/24' }] },
      attributes: { source_ip: str('10.1.1.0') },
      matches: false,
    },
    {
      name: 'AND across keys, both satisfied (docs)',
      policy: { customer_interests: ['rugby'], price_usd: [{ numeric: ['>', 100] }] },
      attributes: { customer_interests: str('rugby'), price_usd: num('210.75') },
      matches: true,
    },
    {
      name: 'AND across keys, one unsatisfied (docs)',
      policy: { customer_interests: ['rugby'], price_usd: [{ numeric: ['>', 100] }] },
      attributes: { customer_interests: str('rugby'), price_usd: num('50') },
      matches: false,
    },
    {
      name: '$or across attributes',
      policy: { $or: [{ customer_interests: ['rugby'] }, { price_usd: [{ numeric: ['>', 100] }] }] },
      attributes: { price_usd: num('150') },
      matches: true,
    },
    {
      name: 'String.Array with numbers matches numerically',
      policy: { readings: [{ numeric: ['>=', 40] }] },
      attributes: { readings: arr([21.5, 40]) },
      matches: true,
    },
    {
      name: 'custom String and Number data types',
      policy: { unit: ['celsius'], value: [{ numeric: ['<', 30] }] },
      attributes: { unit: { DataType: 'String.unit', StringValue: 'celsius' }, value: num('21.5') },
      matches: true,
    },
    {
      name: 'cidr takes an IPv4-mapped IPv6 address as its IPv4 address (event-ruler, as EventBridge)',
      policy: { source_ip: [{ cidr: '10.0.0.0/24' }] },
      attributes: { source_ip: str('::ffff:a00:5') },
      matches: true,
    },
    {
      name: 'an IP literal equals the same address written otherwise (event-ruler, as EventBridge)',
      policy: { source_ip: ['2001:db8::1'] },
      attributes: { source_ip: str('2001:0DB8:0:0:0:0:0:1') },
      matches: true,
    },
    {
      name: 'equals-ignore-case folds each policy letter, ß as SS (event-ruler, as EventBridge)',
      policy: { street: [{ 'equals-ignore-case': 'straße' }] },
      attributes: { street: str('STRASSE') },
      matches: true,
    },
    {
      name: 'an attribute named like an Object property is only read when sent',
      policy: { constructor: [{ exists: false }] },
      attributes: {},
      matches: true,
    },
  ])('$name', ({ policy, attributes, matches }) => {
    // Prepare
    const compiled = compileFilterPolicy(JSON.stringify(policy), 'MessageAttributes');

    // Act
    const result = compiled.matches(withAttributes(attributes));

    // Assess
    expect(result).toBe(matches);
  });
});

describe('compileFilterPolicy with MessageBody scope', () => {
  const bodyPolicy = {
    object: { key: [{ prefix: 'auto-' }, 'hardcodedvalue'], nested_key: [{ exists: false }] },
    test: [{ exists: false }],
  };
  const dotPolicy = { 'object.nested': ['string.value'] };
  const deepDotPolicy = { 'object.nested.test': ['string.value'] };
  const s3Policy = {
    Records: { s3: { object: { key: [{ prefix: 'auto-' }] } }, eventName: [{ prefix: 'ObjectCreated:' }] },
  };
  const s3Event = (eventName: string, key: string) => ({
    Records: [
      { eventSource: 'aws:s3', eventName, s3: { bucket: { name: 'insurance' }, object: { key, size: 17 } } },
    ],
  });
  const orPolicy = {
    $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    detail: {
      scope: ['Service'],
      $or: [{ source: ['aws.cloudwatch'] }, { type: ['CloudWatch Alarm State Change'] }],
    },
  };
  const ipPolicy = {
    detail: {
      $or: [
        { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] },
        { sourceIPAddressV6: [{ cidr: '2001:db8:1234:1a00::/64' }] },
      ],
    },
  };

  it.each<{ name: string; policy: unknown; body: unknown; matches: boolean }>([
    {
      name: 'nested prefix (recorded)',
      policy: bodyPolicy,
      body: { object: { key: 'auto-test' } },
      matches: true,
    },
    {
      name: 'nested exact value (recorded)',
      policy: bodyPolicy,
      body: { object: { key: 'hardcodedvalue' } },
      matches: true,
    },
    {
      name: 'nested value not matching (recorded)',
      policy: bodyPolicy,
      body: { object: { key: 'test-auto' } },
      matches: false,
    },
    {
      name: 'top-level key that must not exist (recorded)',
      policy: bodyPolicy,
      body: { object: { key: 'auto-test' }, test: 'just-exists' },
      matches: false,
    },
    {
      name: 'nested key that must not exist (recorded)',
      policy: bodyPolicy,
      body: { object: { key: 'auto-test', nested_key: 'just-exists' } },
      matches: false,
    },
    {
      name: 'value under the wrong key (recorded)',
      policy: bodyPolicy,
      body: { object: { test: 'auto-test' } },
      matches: false,
    },
    {
      name: 'only a forbidden key (recorded)',
      policy: bodyPolicy,
      body: { test: 'auto-test' },
      matches: false,
    },
    {
      name: 'a body that is not JSON (recorded)',
      policy: bodyPolicy,
      body: 'Regular string message',
      matches: false,
    },
    {
      name: 'a JSON body that is not an object (recorded)',
      policy: bodyPolicy,
      body: JSON.stringify('Regular string message'),
      matches: false,
    },
    {
      name: 'dotted policy key, nested body (recorded)',
      policy: dotPolicy,
      body: { object: { nested: 'string.value' } },
      matches: true,
    },
    {
      name: 'dotted policy key, dotted body key (recorded)',
      policy: dotPolicy,
      body: { 'object.nested': 'string.value' },
      matches: true,
    },
    {
      name: 'dotted policy key, other value (recorded)',
      policy: dotPolicy,
      body: { object: { nested: 'test-auto' } },
      matches: false,
    },
    {
      name: 'deep dotted key, fully nested (recorded)',
      policy: deepDotPolicy,
      body: { object: { nested: { test: 'string.value' } } },
      matches: true,
    },
    {
      name: 'deep dotted key, dotted then nested (recorded)',
      policy: deepDotPolicy,
      body: { 'object.nested': { test: 'string.value' } },
      matches: true,
    },
    {
      name: 'deep dotted key, nested then dotted (recorded)',
      policy: deepDotPolicy,
      body: { object: { 'nested.test': 'string.value' } },
      matches: true,
    },
    {
      name: 'array in the body where one element matches (recorded)',
      policy: { headers: { 'route-to': ['queue1'] } },
      body: { headers: { 'route-to': ['queue1', 'queue2'] } },
      matches: true,
    },
    {
      name: 'array in the body where no element matches (recorded)',
      policy: { headers: { 'route-to': ['queue1'] } },
      body: { headers: { 'route-to': ['queue3'] } },
      matches: false,
    },
    {
      name: 'array of objects, created auto key (recorded)',
      policy: s3Policy,
      body: s3Event('ObjectCreated:Put', 'auto-insurance-2314.xml'),
      matches: true,
    },
    {
      name: 'array of objects, removed auto key (recorded)',
      policy: s3Policy,
      body: s3Event('ObjectRemoved:Delete', 'auto-insurance-2314.xml'),
      matches: false,
    },
    {
      name: 'array of objects, created home key (recorded)',
      policy: s3Policy,
      body: s3Event('ObjectCreated:Put', 'home-insurance-2314.xml'),
      matches: false,
    },
    {
      name: 'array of records where one record satisfies every key, through nested arrays (recorded)',
      policy: s3Policy,
      body: {
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            s3: { object: [[{ key: 'auto-insurance-2314.xml', size: 17 }]] },
          },
          { eventName: 'ObjectRemoved:Delete', s3: { object: { key: 'home-insurance-2314.xml', size: 17 } } },
        ],
      },
      matches: true,
    },
    {
      name: 'array of records where the keys are satisfied only by different records',
      policy: s3Policy,
      body: {
        Records: [
          { eventName: 'ObjectRemoved:Delete', s3: { object: { key: 'auto-insurance-2314.xml' } } },
          { eventName: 'ObjectCreated:Put', s3: { object: { key: 'home-insurance-2314.xml' } } },
        ],
      },
      matches: false,
    },
    {
      name: '$or at two levels, metricName and source (recorded)',
      policy: orPolicy,
      body: { metricName: 'CPUUtilization', detail: { scope: 'Service', source: 'aws.cloudwatch' } },
      matches: true,
    },
    {
      name: '$or at two levels, namespace and type (recorded)',
      policy: orPolicy,
      body: { namespace: 'AWS/ES', detail: { scope: 'Service', type: 'CloudWatch Alarm State Change' } },
      matches: true,
    },
    {
      name: '$or at two levels, wrong scope (recorded)',
      policy: orPolicy,
      body: {
        metricName: 'CPUUtilization',
        detail: { scope: 'aws.cloudwatch', type: 'CloudWatch Alarm State Change' },
      },
      matches: false,
    },
    {
      name: '$or at two levels, neither inner alternative (recorded)',
      policy: orPolicy,
      body: { metricName: 'CPUUtilization', detail: { scope: 'Service' } },
      matches: false,
    },
    {
      name: '$or at two levels, keys at the wrong level (recorded)',
      policy: orPolicy,
      body: { metricName: 'CPUUtilization', scope: 'Service' },
      matches: false,
    },
    {
      name: '$or at two levels, value of the other alternative (recorded)',
      policy: orPolicy,
      body: {
        namespace: 'CPUUtilization',
        detail: { scope: 'Service', type: 'CloudWatch Alarm State Change' },
      },
      matches: false,
    },
    {
      name: 'empty string beside an empty array and null (recorded)',
      policy: { detail: { eventVersion: [''] } },
      body: { resources: [], detail: { eventVersion: '', responseElements: null } },
      matches: true,
    },
    {
      name: 'cidr v4 in the body (recorded)',
      policy: ipPolicy,
      body: { detail: { sourceIPAddress: '10.0.0.255' } },
      matches: true,
    },
    {
      name: 'invalid v4 address in the body (recorded)',
      policy: ipPolicy,
      body: { detail: { sourceIPAddress: '10.0.0.256' } },
      matches: false,
    },
    {
      name: 'cidr v6 in the body (recorded)',
      policy: ipPolicy,
      body: { detail: { sourceIPAddressV6: '2001:0db8:1234:1a00:0000:0000:0000:0000' } },
      matches: true,
    },
    {
      name: 'v6 address outside the subnet (recorded)',
      policy: ipPolicy,
      body: { detail: { sourceIPAddressV6: '2001:0db8:123f:1a01:0000:0000:0000:0000' } },
      matches: false,
    },
    {
      name: 'numeric range on a JSON number',
      policy: { price_usd: [{ numeric: ['>', 100, '<', 300] }] },
      body: { price_usd: 210.75 },
      matches: true,
    },
    {
      name: 'numeric range on a JSON string',
      policy: { price_usd: [{ numeric: ['>', 100, '<', 300] }] },
      body: { price_usd: '210.75' },
      matches: false,
    },
    {
      name: 'null matches an explicit null',
      policy: { reason: [null] },
      body: { reason: null },
      matches: true,
    },
    {
      name: 'null does not match a missing key',
      policy: { reason: [null] },
      body: { other: 1 },
      matches: false,
    },
    { name: 'true matches a JSON boolean', policy: { valid: [true] }, body: { valid: true }, matches: true },
    {
      name: 'true does not match the string "true"',
      policy: { valid: [true] },
      body: { valid: 'true' },
      matches: false,
    },
    {
      name: 'exists true needs a value, not an object',
      policy: { detail: [{ exists: true }] },
      body: { detail: { a: 1 } },
      matches: false,
    },
    {
      name: 'anything-but over a body array where one element is not excluded (docs)',
      policy: { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] },
      body: { customer_interests: ['rugby', 'baseball'] },
      matches: true,
    },
    {
      name: 'anything-but over a body array of excluded elements (docs)',
      policy: { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] },
      body: { customer_interests: ['rugby'] },
      matches: false,
    },
    {
      name: 'cidr takes an IPv4-mapped IPv6 address in the body (event-ruler, as EventBridge)',
      policy: { source_ip: [{ cidr: '10.0.0.0/24' }] },
      body: { source_ip: '::ffff:a00:5' },
      matches: true,
    },
    {
      name: 'exists false is judged within the array element the other fields chose (event-ruler)',
      policy: { items: { code: ['a'], status: [{ exists: false }] } },
      body: { items: [{ code: 'a' }, { code: 'b', status: 'failed' }] },
      matches: true,
    },
    {
      name: 'numbers beyond -5.0e9..5.0e9 never match a numeric range (event-ruler)',
      policy: { level: [{ numeric: ['>', 0] }] },
      body: { level: 6e9 },
      matches: false,
    },
    { name: 'an empty policy matches everything', policy: {}, body: 'not even JSON', matches: true },
  ])('$name', ({ policy, body, matches }) => {
    // Prepare
    const compiled = compileFilterPolicy(JSON.stringify(policy), 'MessageBody');

    // Act
    const result = compiled.matches(withBody(body));

    // Assess
    expect(result).toBe(matches);
  });
});

describe('compileFilterPolicy validation', () => {
  const values = (count: number) => Array.from({ length: count }, (_, i) => `value${i}`);

  it.each<{ name: string; policy: unknown; scope?: FilterPolicyScope; message: string }>([
    {
      name: 'text that is not JSON (recorded)',
      policy: '{invalidjson}',
      message:
        "FilterPolicy: failed to parse JSON. Unexpected character ('i' (code 105)): was expecting double-quote to start field name\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 2]",
    },
    { name: 'a JSON array', policy: '["a"]', message: 'FilterPolicy: Filter is not an object' },
    {
      name: 'a list as a value (recorded)',
      policy: { key: [['value']] },
      message: 'FilterPolicy: Match value must be String, number, true, false, or null',
    },
    {
      name: 'an unknown operator (recorded)',
      policy: { key: [{ 'wrong-operator': true }] },
      message: 'FilterPolicy: Unrecognized match type wrong-operator',
    },
    {
      name: 'two operators in one expression (recorded)',
      policy: { key: [{ suffix: 'value', prefix: 'value2' }] },
      message: 'FilterPolicy: Only one key allowed in match expression',
    },
    {
      name: 'an empty value list (recorded)',
      policy: { key: [] },
      message: 'FilterPolicy: Empty arrays are not allowed',
    },
    {
      name: 'a numeric suffix (recorded)',
      policy: { key: [{ suffix: 100 }] },
      message: 'FilterPolicy: suffix match pattern must be a string',
    },
    {
      name: 'a null suffix (recorded)',
      policy: { key: [{ suffix: null }] },
      message: 'FilterPolicy: suffix match pattern must be a string',
    },
    {
      name: 'a list as suffix (recorded)',
      policy: { key: [{ suffix: ['test', 'test2'] }] },
      message: 'FilterPolicy: suffix match pattern must be a string',
    },
    {
      name: 'an operator outside a list (recorded)',
      policy: { key: { suffix: 'value' } },
      message: 'FilterPolicy: "suffix" must be an object or an array',
    },
    {
      name: 'a key with a plain string (recorded)',
      policy: { key_a: 'value_one' },
      scope: 'MessageBody',
      message: 'FilterPolicy: "key_a" must be an object or an array',
    },
    {
      name: 'a cidr list (recorded)',
      policy: { key: [{ cidr: ['bad-filter'] }] },
      message: 'FilterPolicy: prefix match pattern must be a string',
    },
    {
      name: 'a cidr without a slash (recorded)',
      policy: { key: [{ cidr: 'bad-filter' }] },
      message: "FilterPolicy: Malformed CIDR, one '/' required",
    },
    {
      name: 'a cidr with a bad address (recorded)',
      policy: { key: [{ cidr: 'bad-filter/64' }] },
      message: 'FilterPolicy: Nonstandard IP address: bad-filter',
    },
    {
      name: 'a cidr with a bad mask (recorded)',
      policy: { key: [{ cidr: 'bad-/64filter' }] },
      message: 'FilterPolicy: Malformed CIDR, mask bits must be an integer',
    },
    {
      name: 'a cidr with a bad v4 address (recorded)',
      policy: { key: [{ cidr: 'xx.11.xx/8' }] },
      message: 'FilterPolicy: Nonstandard IP address: xx.11.xx',
    },
    {
      name: 'a cidr with a bad v6 address (recorded)',
      policy: { key: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] },
      message: 'FilterPolicy: Nonstandard IP address: xxxx:db8:1234:1a00::',
    },
    {
      name: 'an empty numeric expression (recorded)',
      policy: { key: [{ numeric: [] }] },
      message: 'FilterPolicy: Invalid member in numeric match: ]',
    },
    {
      name: 'an unknown numeric operator (recorded)',
      policy: { key: [{ numeric: ['operator'] }] },
      message: 'FilterPolicy: Unrecognized numeric range operator: operator',
    },
    {
      name: 'a number before the operator (recorded)',
      policy: { key: [{ numeric: [1, '<='] }] },
      message: 'FilterPolicy: Invalid member in numeric match: 1',
    },
    {
      name: 'a string operand (recorded)',
      policy: { key: [{ numeric: ['=', '000'] }] },
      message: 'FilterPolicy: Value of equals must be numeric',
    },
    {
      name: 'a missing operand (recorded)',
      policy: { key: [{ numeric: ['>='] }] },
      message: 'FilterPolicy: Value of >= must be numeric',
    },
    {
      name: 'a range starting with the upper bound (recorded)',
      policy: { key: [{ numeric: ['<', 100, '>', 10] }] },
      message: 'FilterPolicy: Too many elements in numeric expression',
    },
    {
      name: 'two lower bounds (recorded)',
      policy: { key: [{ numeric: ['>=', 1, '>', 2] }] },
      message: 'FilterPolicy: Bad numeric range operator: >',
    },
    {
      name: 'an empty range (recorded)',
      policy: { key: [{ numeric: ['>', 3, '<', 1] }] },
      message: 'FilterPolicy: Bottom must be less than top',
    },
    {
      name: 'a range without its top (recorded)',
      policy: { key: [{ numeric: ['>', 20, '<='] }] },
      message: 'FilterPolicy: Value of <= must be numeric',
    },
    {
      name: 'a range without its second operator (recorded)',
      policy: { key: [{ numeric: ['>', 20, 30] }] },
      message: 'FilterPolicy: Bad value in numeric range: 30',
    },
    {
      name: 'a range with an unknown second operator (recorded)',
      policy: { key: [{ numeric: ['>', 20, 'test'] }] },
      message: 'FilterPolicy: Bad numeric range operator: test',
    },
    {
      name: 'a range with a string bottom (recorded)',
      policy: { key: [{ numeric: ['>', '20', '<', '30'] }] },
      message: 'FilterPolicy: Value of > must be numeric',
    },
    {
      name: 'a range with a string top (recorded)',
      policy: { key: [{ numeric: ['>', 20, '<', '30'] }] },
      message: 'FilterPolicy: Value of < must be numeric',
    },
    {
      name: 'a range with three bounds (recorded)',
      policy: { key: [{ numeric: ['>', 20, '<', 30, '<', 50] }] },
      message: 'FilterPolicy: Too many terms in numeric range expression',
    },
    {
      name: 'exists null (recorded)',
      policy: { key: [{ exists: null }] },
      message: 'FilterPolicy: exists match pattern must be either true or false.',
    },
    {
      name: 'exists as a string (recorded)',
      policy: { key: [{ exists: 'no' }] },
      message: 'FilterPolicy: exists match pattern must be either true or false.',
    },
    {
      name: 'an unknown anything-but operator (recorded)',
      policy: { key: [{ 'anything-but': { 'wrong-operator': null } }] },
      message: 'FilterPolicy: Unsupported anything-but pattern: wrong-operator',
    },
    {
      name: 'anything-but a suffix (recorded)',
      policy: { key: [{ 'anything-but': { suffix: 'test' } }] },
      message: 'FilterPolicy: Unsupported anything-but pattern: suffix',
    },
    {
      name: 'anything-but exists (recorded)',
      policy: { key: [{ 'anything-but': { exists: false } }] },
      message: 'FilterPolicy: Unsupported anything-but pattern: exists',
    },
    {
      name: 'anything-but a boolean prefix (recorded)',
      policy: { key: [{ 'anything-but': { prefix: false } }] },
      message: 'FilterPolicy: prefix match pattern must be a string',
    },
    {
      name: 'a numeric operand beyond 5.0e9 (event-ruler, as EventBridge)',
      policy: { key: [{ numeric: ['<', 6e9] }] },
      message: 'FilterPolicy: Value must be between -5.0E9 and 5.0E9, inclusive',
    },
    {
      name: 'a match type used as a field name inside $or (event-ruler, as EventBridge)',
      policy: { $or: [{ prefix: ['a'] }, { key: ['b'] }] },
      message: 'FilterPolicy: prefix is Ruler reserved fieldName which cannot be used inside $or.',
    },
    {
      name: 'a wildcard, which SNS does not take',
      policy: { key: [{ wildcard: 'a*' }] },
      message: 'FilterPolicy: Unrecognized match type wildcard',
    },
    {
      name: 'anything-but a mixed list',
      policy: { key: [{ 'anything-but': ['a', 1] }] },
      message:
        'FilterPolicy: Inside anything but list, either all values are number or string, mixed type is not supported',
    },
    {
      name: '151 values for one key (recorded)',
      policy: { key: values(151) },
      message: 'FilterPolicy: Filter policy is too complex',
    },
    {
      name: '100 times 51 values (recorded)',
      policy: { key1: values(100), key2: values(51) },
      message: 'FilterPolicy: Filter policy is too complex',
    },
    {
      name: 'six keys (recorded)',
      policy: { key1: ['v1'], key2: ['v2'], key3: ['v3'], key4: ['v4'], key5: ['v5'], key6: ['v6'] },
      message: 'FilterPolicy: Filter policy can not have more than 5 keys',
    },
    {
      name: 'six top-level keys in a body policy (recorded)',
      policy: { key_a: ['1'], key_b: ['2'], key_c: ['3'], key_d: ['4'], key_e: ['5'], key_f: ['6'] },
      scope: 'MessageBody',
      message: 'FilterPolicy: Filter policy can not have more than 5 keys',
    },
    {
      name: 'nested keys weighted by depth, 3×4 × 2×3 × 1×3 = 216 (recorded)',
      policy: {
        key_a: { key_b: { key_c: ['value_one', 'value_two', 'value_three', 'value_four'] } },
        key_d: { key_e: ['value_one', 'value_two', 'value_three'] },
        key_f: ['value_one', 'value_two', 'value_three'],
      },
      scope: 'MessageBody',
      message: 'FilterPolicy: Filter policy is too complex',
    },
    {
      name: '$or alternatives summed, 24 + 64 + 64 = 152 (recorded)',
      policy: {
        source: ['aws.cloudwatch', 'aws.events', 'aws.test', 'aws.test2'],
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency', 't1', 't2', 't3', 't4'] },
          {
            metricType: ['MetricType', 'TestType', 'TestType2', 'TestType3'],
            $or: [{ metricId: [1234, 4321, 5678, 9012] }, { spaceId: [1, 2, 3, 4] }],
          },
        ],
      },
      message: 'FilterPolicy: Filter policy is too complex',
    },
    {
      name: 'nested $or, 24 + 72 + 16 + 48 = 160 (recorded)',
      policy: {
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency', 'TestValue'] },
          { namespace: ['AWS/EC2', 'AWS/ES'] },
        ],
        detail: {
          scope: ['Service', 'Test'],
          $or: [
            { source: ['aws.cloudwatch'] },
            { type: ['CloudWatch Alarm State Change', 'TestValue', 'TestValue2'] },
          ],
        },
      },
      scope: 'MessageBody',
      message: 'FilterPolicy: Filter policy is too complex',
    },
    {
      name: 'a nested policy for attributes (recorded)',
      policy: { object: { key: [{ prefix: 'auto-' }] } },
      message: 'Filter policy scope MessageAttributes does not support nested filter policy',
    },
    {
      name: '$or with one alternative',
      policy: { $or: [{ a: ['x'] }] },
      message: 'FilterPolicy: There must have at least 2 Objects in $or relationship.',
    },
    {
      name: 'a nested empty object',
      policy: { detail: {} },
      scope: 'MessageBody',
      message: 'FilterPolicy: Empty objects are not allowed',
    },
  ])('refuses $name', ({ policy, scope = 'MessageAttributes', message }) => {
    // Prepare
    const text = typeof policy === 'string' ? policy : JSON.stringify(policy);

    // Act
    const act = () => compileFilterPolicy(text, scope);

    // Assess
    expect(act).toThrow(InvalidFilterPolicyError);
    expect(act).toThrow(`Invalid parameter: ${message}`);
  });

  it.each<{ name: string; policy: unknown; scope: FilterPolicyScope }>([
    {
      name: '$or alternatives summing to exactly 150 (recorded)',
      policy: {
        source: ['aws.cloudwatch', 'aws.events', 'aws.test'],
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency', 'TestVal', 'TestVal2', 'TestVal3', 'TestVal4'] },
          {
            metricType: ['MetricType', 'TestType', 'TestType2', 'TestType3'],
            $or: [{ metricId: [1234, 4321, 5678, 9012] }, { spaceId: [1, 2, 3, 4, 5, 6, 7] }],
          },
        ],
      },
      scope: 'MessageAttributes',
    },
    {
      name: 'anything-but a prefix (recorded)',
      policy: { key: [{ 'anything-but': { prefix: 'test-' } }] },
      scope: 'MessageAttributes',
    },
    {
      name: 'anything-but a list (recorded)',
      policy: { key: [{ 'anything-but': ['test', 'test2'] }] },
      scope: 'MessageAttributes',
    },
    {
      name: 'anything-but a single value (recorded)',
      policy: { key: [{ 'anything-but': 'test' }] },
      scope: 'MessageAttributes',
    },
    {
      name: 'a nested policy for the body (recorded)',
      policy: { object: { key: [{ prefix: 'auto-' }] } },
      scope: 'MessageBody',
    },
    { name: '150 values for one key', policy: { key: values(150) }, scope: 'MessageAttributes' },
  ])('accepts $name', ({ policy, scope }) => {
    // Act
    const act = () => compileFilterPolicy(JSON.stringify(policy), scope);

    // Assess
    expect(act).not.toThrow();
  });

  it('keeps the reason apart so Subscribe can answer in its own wording', () => {
    // Act
    const error = (() => {
      try {
        compileFilterPolicy('{"key": []}', 'MessageAttributes');
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(InvalidFilterPolicyError);
    expect(error).toMatchObject({
      code: 'InvalidParameter',
      reason: 'FilterPolicy: Empty arrays are not allowed',
    });
  });
});
