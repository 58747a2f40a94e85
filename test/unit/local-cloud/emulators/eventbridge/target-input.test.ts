import { describe, expect, it } from 'vitest';
import {
  renderTargetInput,
  TargetInputRenderError,
  type TargetInputSpec,
  TargetInputValidationError,
  validateTargetInput,
} from '../../../../../local-cloud/emulators/eventbridge/target-input.ts';

// Detail, templates and expected bodies marked "recorded" come from transformations recorded on AWS
// (LocalStack tests/aws/services/events/test_events_inputs.snapshot.json); "docs" ones from
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html.
const event = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'core.update-account-command',
  source: 'core.update-account-command',
  account: '111111111111',
  time: '2024-05-02T10:15:30Z',
  region: 'eu-west-1',
  resources: ['arn:aws:iot:eu-west-1:111111111111:thing/sensor-7'],
  detail: {
    command: 'update-account',
    payload: { acc_id: '0a787ecb-4015', sf_id: 'baz' },
    listsingle: ['HIGH'],
    listmulti: ['ACTIVE', 'INACTIVE'],
    valid: true,
    'instance-id': 'i-0123456789',
    state: 'RUNNING',
    count: 42,
    ratio: 0.5,
    nothing: null,
    quote: 'say "hi"',
    newline: 'line one\nline two',
    badEscape: 'C:\\x',
    winPath: 'C:\\new',
    'dashed-key': 'dash',
    'key.with.dots': 'dotted',
    readings: [
      { metric: 'temperature', value: 21.5 },
      { metric: 'humidity', value: 40 },
    ],
  },
};

const ctx = {
  ruleName: 'example',
  ruleArn: 'arn:aws:events:eu-west-1:111111111111:rule/sensorbus/example',
  ingestionTime: '2024-05-02T10:15:31Z',
};

const recordedPaths = {
  userId: '$.detail.payload.acc_id',
  payload: '$.detail.payload',
  systemstring: '$.detail.awsAccountId',
  listsingle: '$.detail.listsingle',
  listmulti: '$.detail.listmulti',
  valid: '$.detail.valid',
};

const detailPaths = {
  'detail-type': '$.detail-type',
  timestamp: '$.time',
  command: '$.detail.command',
  missing: '$.detail.notinmessage',
  instance: '$.detail.instance-id',
  state: '$.detail.state',
  status: '$.detail.state',
  count: '$.detail.count',
  ratio: '$.detail.ratio',
  nothing: '$.detail.nothing',
  quote: '$.detail.quote',
  newline: '$.detail.newline',
  badEscape: '$.detail.badEscape',
  winPath: '$.detail.winPath',
  firstStatus: '$.detail.listmulti[0]',
  values: '$.detail.readings[*].value',
  dotted: "$.detail['key.with.dots']",
};

const transform = (
  InputTemplate: string,
  InputPathsMap: Record<string, string> = detailPaths,
): TargetInputSpec => ({
  InputTransformer: { InputPathsMap, InputTemplate },
});

describe('renderTargetInput', () => {
  it.each<{ name: string; spec: TargetInputSpec; body: string }>([
    { name: 'no input settings deliver the whole event', spec: {}, body: JSON.stringify(event) },
    {
      name: 'Input delivers the constant text unchanged',
      spec: { Input: '{ "kind": "constant", "n": 1 }' },
      body: '{ "kind": "constant", "n": 1 }',
    },
    {
      name: 'InputPath $.detail.payload (recorded)',
      spec: { InputPath: '$.detail.payload' },
      body: '{"acc_id":"0a787ecb-4015","sf_id":"baz"}',
    },
    {
      name: 'InputPath to a string leaf delivers a JSON string (recorded)',
      spec: { InputPath: '$.detail.payload.sf_id' },
      body: '"baz"',
    },
    { name: 'InputPath $ delivers the whole event', spec: { InputPath: '$' }, body: JSON.stringify(event) },
    {
      name: 'InputPath with an array index',
      spec: { InputPath: '$.detail.listmulti[1]' },
      body: '"INACTIVE"',
    },
    {
      name: 'InputPath with a quoted bracket key',
      spec: { InputPath: "$.detail['dashed-key']" },
      body: '"dash"',
    },
    {
      name: 'InputPath with a bracket key holding dots',
      spec: { InputPath: '$.detail["key.with.dots"]' },
      body: '"dotted"',
    },
    {
      name: 'InputPath with a wildcard delivers the list of matches',
      spec: { InputPath: '$.detail.readings[*].metric' },
      body: '["temperature","humidity"]',
    },
    { name: 'InputPath to a number', spec: { InputPath: '$.detail.readings[0].value' }, body: '21.5' },
    {
      name: 'string template (recorded)',
      spec: transform(
        '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"',
      ),
      body: '"Event of core.update-account-command type, at time 2024-05-02T10:15:30Z, info extracted from detail update-account"',
    },
    {
      name: 'string template with a missing path renders nothing in its place (recorded)',
      spec: transform('"Event of <detail-type> type, info extracted from detail <missing>"'),
      body: '"Event of core.update-account-command type, info extracted from detail "',
    },
    {
      name: 'string template starting with JSON-like characters stays a string (recorded)',
      spec: transform('"{[/Check with special starting characters for event of <detail-type> type"'),
      body: '"{[/Check with special starting characters for event of core.update-account-command type"',
    },
    {
      name: 'string template drops the quotes of an object (recorded)',
      spec: transform(
        '"Payload of <payload> with path users-service/users/<userId> and <userId>"',
        recordedPaths,
      ),
      body: '"Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/0a787ecb-4015 and 0a787ecb-4015"',
    },
    {
      name: 'string template drops the quotes of arrays (recorded)',
      spec: transform('"<listsingle> single list item <listmulti> multiple list items"', recordedPaths),
      body: '"[HIGH] single list item [ACTIVE,INACTIVE] multiple list items"',
    },
    {
      name: 'string template mixing every kind of value (recorded)',
      spec: transform(
        '"<listsingle> single list item <listmulti> multiple list items <systemstring> system account id <payload> payload <userId> user id"',
        recordedPaths,
      ),
      body: '"[HIGH] single list item [ACTIVE,INACTIVE] multiple list items  system account id {acc_id:0a787ecb-4015,sf_id:baz} payload 0a787ecb-4015 user id"',
    },
    {
      name: 'string template with a boolean (recorded)',
      spec: transform('"Command is <valid>!"', recordedPaths),
      body: '"Command is true!"',
    },
    {
      name: 'multi-line template of quoted lines is delivered as written (recorded)',
      spec: transform(
        '"<listsingle> single list item"\n"<listmulti> multiple list items"\n"<userId> user id"',
        recordedPaths,
      ),
      body: '"[HIGH] single list item"\n"[ACTIVE,INACTIVE] multiple list items"\n"0a787ecb-4015 user id"',
    },
    {
      name: 'string template with escaped quotes around a placeholder (docs)',
      spec: transform('"instance \\"<instance>\\" is in <state>"'),
      body: '"instance \\"i-0123456789\\" is in RUNNING"',
    },
    {
      name: 'plain-text template (API reference example)',
      spec: transform('<instance> is in state <status>'),
      body: 'i-0123456789 is in state RUNNING',
    },
    {
      name: 'string template with numbers and null',
      spec: transform('"count=<count> ratio=<ratio> nothing=<nothing>"'),
      body: '"count=42 ratio=0.5 nothing=null"',
    },
    {
      name: 'string template inserts special characters raw, without checking the result',
      spec: transform('"said <quote>"'),
      body: '"said say "hi""',
    },
    {
      name: 'predefined rule name in a string (docs)',
      spec: { InputTransformer: { InputTemplate: '"<aws.events.rule-name> triggered"' } },
      body: '"example triggered"',
    },
    {
      name: 'every predefined string variable without an InputPathsMap (recorded)',
      spec: {
        InputTransformer: {
          InputTemplate:
            '"Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"',
        },
      },
      body: `"Message containing all pre defined variables ${ctx.ruleArn} example 2024-05-02T10:15:31Z"`,
    },
    {
      name: 'JSON template with unquoted placeholders gets quoted strings, minified (recorded)',
      spec: transform('{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'),
      body: '{"detailType":"core.update-account-command","time":"2024-05-02T10:15:30Z","command":"update-account"}',
    },
    {
      name: 'JSON template with an unquoted missing path renders an empty string (recorded)',
      spec: transform('{"detailType": <detail-type>, "command": <missing>}'),
      body: '{"detailType":"core.update-account-command","command":""}',
    },
    {
      name: 'JSON template with a quoted missing path renders an empty string',
      spec: transform('{"command": "cmd-<missing>"}'),
      body: '{"command":"cmd-"}',
    },
    {
      name: 'JSON template with an object value and a path inside a string (recorded)',
      spec: transform(
        '{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}',
        recordedPaths,
      ),
      body: '{"method":"PUT","path":"users-service/users/0a787ecb-4015","bod":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}',
    },
    {
      name: 'JSON template with an unquoted string placeholder (recorded)',
      spec: transform('{"id" : <userId>}', recordedPaths),
      body: '{"id":"0a787ecb-4015"}',
    },
    {
      name: 'JSON template with a quoted string placeholder (recorded)',
      spec: transform('{"id" : "<userId>"}', recordedPaths),
      body: '{"id":"0a787ecb-4015"}',
    },
    {
      name: 'JSON template with a placeholder inside an array (recorded)',
      spec: transform('{"method": "PUT", "bod": [<userId>, "hardcoded"]}', recordedPaths),
      body: '{"method":"PUT","bod":["0a787ecb-4015","hardcoded"]}',
    },
    {
      name: 'JSON template with deeply nested strings (recorded)',
      spec: transform(
        '{"method": "PUT", "nested": {"level1": {"level2": {"level3": "users-service/users/<userId>"} } }, "bod": "<userId>"}',
        recordedPaths,
      ),
      body: '{"method":"PUT","nested":{"level1":{"level2":{"level3":"users-service/users/0a787ecb-4015"}}},"bod":"0a787ecb-4015"}',
    },
    {
      name: 'JSON template with an unquoted list (recorded)',
      spec: transform('{"singlelistitem": <listsingle>}', recordedPaths),
      body: '{"singlelistitem":["HIGH"]}',
    },
    {
      name: 'JSON template repeating a placeholder inside one string (recorded)',
      spec: transform('{"multi_replacement": "users/<userId>/second/<userId>"}', recordedPaths),
      body: '{"multi_replacement":"users/0a787ecb-4015/second/0a787ecb-4015"}',
    },
    {
      name: 'JSON template with unquoted numbers, booleans and null',
      spec: transform('{"n": <count>, "r": <ratio>, "b": <valid>, "z": <nothing>}', {
        ...detailPaths,
        valid: '$.detail.valid',
      }),
      body: '{"n":42,"r":0.5,"b":true,"z":null}',
    },
    {
      name: 'JSON template with quoted numbers and booleans gets their text',
      spec: transform('{"n": "<count>", "b": "<valid>", "z": "<nothing>"}', {
        ...detailPaths,
        valid: '$.detail.valid',
      }),
      body: '{"n":"42","b":"true","z":"null"}',
    },
    {
      name: 'JSON template mixing variables and constants (docs)',
      spec: transform(
        '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}\n',
      ),
      body: '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
    },
    {
      name: 'JSON template with strings and variables (docs)',
      spec: transform(
        '{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}',
      ),
      body: '{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
    },
    {
      name: 'JSON template escapes special characters of unquoted string values',
      spec: transform('{"q": <quote>, "n": <newline>, "b": <badEscape>}'),
      body: '{"q":"say \\"hi\\"","n":"line one\\nline two","b":"C:\\\\x"}',
    },
    {
      name: 'JSON template inserts backslashes inside quotes unescaped, so C:\\new gains a newline',
      spec: transform('{"p": "<winPath>"}'),
      body: '{"p":"C:\\new"}',
    },
    {
      name: 'JSON template with every predefined string variable unquoted',
      spec: {
        InputTransformer: {
          InputTemplate:
            '{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "at": <aws.events.event.ingestion-time>}',
        },
      },
      body: `{"ruleArn":"${ctx.ruleArn}","ruleName":"example","at":"2024-05-02T10:15:31Z"}`,
    },
    {
      name: 'JSON template with an array index, a wildcard and a dotted bracket key',
      spec: transform('{"first": <firstStatus>, "values": <values>, "dotted": <dotted>}'),
      body: '{"first":"ACTIVE","values":[21.5,40],"dotted":"dotted"}',
    },
  ])('$name', ({ spec, body }) => {
    // Act
    const rendered = renderTargetInput(spec, event, ctx);

    // Assess
    expect(rendered).toBe(body);
  });

  it('renders <aws.events.event> as the event without detail and <aws.events.event.json> as the whole event (recorded)', () => {
    // Prepare
    const spec: TargetInputSpec = {
      InputTransformer: {
        InputTemplate: '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}',
      },
    };

    // Act
    const body = JSON.parse(renderTargetInput(spec, event, ctx));

    // Assess
    expect(Object.keys(body.originalEvent)).toEqual([
      'id',
      'account',
      'detailType',
      'time',
      'source',
      'region',
      'resources',
      'version',
    ]);
    expect(body.originalEvent).toEqual({
      id: event.id,
      account: event.account,
      detailType: event['detail-type'],
      time: ctx.ingestionTime,
      source: event.source,
      region: event.region,
      resources: event.resources,
      version: '0',
    });
    expect(body.originalEventJson).toEqual(event);
  });

  it.each<{ name: string; spec: TargetInputSpec }>([
    {
      name: 'an object inside quotes (recorded)',
      spec: transform('{"payload": "<payload>"}', recordedPaths),
    },
    {
      name: 'a list inside quotes (recorded)',
      spec: transform('{"singlelistitem": "<listsingle>"}', recordedPaths),
    },
    {
      name: 'an object inside a longer string (recorded)',
      spec: transform('{"not_valid": "users-service/users/<payload>", "bod": <payload>}', recordedPaths),
    },
    { name: 'a string holding a quote inside quotes', spec: transform('{"q": "<quote>"}') },
    { name: 'a string holding a newline inside quotes', spec: transform('{"n": "<newline>"}') },
    { name: 'a string holding an invalid escape inside quotes', spec: transform('{"b": "<badEscape>"}') },
    {
      name: 'the whole event inside quotes',
      spec: { InputTransformer: { InputTemplate: '{"e": "<aws.events.event.json>"}' } },
    },
  ])('fails the delivery when a JSON template renders invalid JSON: $name', ({ spec }) => {
    // Act
    const act = () => renderTargetInput(spec, event, ctx);

    // Assess
    expect(act).toThrow(TargetInputRenderError);
  });

  it('fails the delivery when InputPath selects nothing', () => {
    // Act
    const act = () => renderTargetInput({ InputPath: '$.detail.absent' }, event, ctx);

    // Assess
    expect(act).toThrow(TargetInputRenderError);
  });

  it('refuses to render settings that PutTargets would refuse', () => {
    // Act
    const act = () => renderTargetInput({ Input: '{}', InputPath: '$' }, event, ctx);

    // Assess
    expect(act).toThrow(TargetInputValidationError);
  });
});

describe('validateTargetInput', () => {
  const manyPaths = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`v${i}`, `$.detail.k${i}`]));

  it.each<{ name: string; spec: TargetInputSpec; message: string | RegExp }>([
    {
      name: 'Input and InputPath together',
      spec: { Input: '{}', InputPath: '$.detail' },
      message: 'Only one of Input, InputPath, or InputTransformer must be provided for target target-1.',
    },
    {
      name: 'InputPath and InputTransformer together (recorded)',
      spec: { InputPath: '$.detail', InputTransformer: { InputTemplate: '"x"' } },
      message: 'Only one of Input, InputPath, or InputTransformer must be provided for target target-1.',
    },
    {
      name: 'Input that is not JSON',
      spec: { Input: 'not json' },
      message: /^Input for target target-1 is not a valid JSON/,
    },
    {
      name: 'Input longer than 8192 characters',
      spec: { Input: JSON.stringify('x'.repeat(8191)) },
      message: /Member must have length less than or equal to 8192$/,
    },
    { name: 'InputPath without $', spec: { InputPath: 'detail.a' }, message: /is not a valid JsonPath/ },
    { name: 'InputPath with a deep scan', spec: { InputPath: '$..a' }, message: /is not a valid JsonPath/ },
    {
      name: 'InputPath with an unclosed bracket',
      spec: { InputPath: '$.a[0' },
      message: /is not a valid JsonPath/,
    },
    {
      name: 'InputPath longer than 256 characters',
      spec: { InputPath: `$.${'a'.repeat(255)}` },
      message: /Member must have length less than or equal to 256$/,
    },
    {
      name: 'undefined placeholder (recorded)',
      spec: transform('"Event of <detail-type> type, with not defined key <notdefinedkey>"', {
        'detail-type': '$.detail-type',
      }),
      message: 'InputTemplate for target target-1 contains invalid placeholder notdefinedkey.',
    },
    {
      name: 'empty InputTemplate',
      spec: transform(''),
      message: /Member must have length greater than or equal to 1$/,
    },
    {
      name: 'InputTemplate longer than 8192 characters',
      spec: transform(`"${'x'.repeat(8191)}"`),
      message: /Member must have length less than or equal to 8192$/,
    },
    {
      name: 'more than 100 InputPathsMap entries',
      spec: transform('"x"', manyPaths(101)),
      message: /Member must have length less than or equal to 100$/,
    },
    {
      name: 'InputPathsMap key with a dot',
      spec: transform('"<a.b>"', { 'a.b': '$.detail' }),
      message: /Member must satisfy regular expression pattern/,
    },
    {
      name: 'InputPathsMap key with a space',
      spec: transform('"x"', { 'a b': '$.detail' }),
      message: /Member must satisfy regular expression pattern/,
    },
    {
      name: 'reserved aws.events.rule-name in InputPathsMap',
      spec: transform('"<aws.events.rule-name>"', { 'aws.events.rule-name': '$.detail' }),
      message: /reserved variable name aws\.events\.rule-name/,
    },
    {
      name: 'reserved aws.events.event.json in InputPathsMap',
      spec: transform('"x"', { 'aws.events.event.json': '$.detail' }),
      message: /reserved variable name aws\.events\.event\.json/,
    },
    {
      name: 'InputPathsMap value that is not a JsonPath',
      spec: transform('"<a>"', { a: 'detail.a' }),
      message: /contains invalid JsonPath detail\.a/,
    },
    {
      name: 'JSON template that is not JSON',
      spec: transform('{"a": <count>'),
      message: 'InputTemplate for target target-1 is not a valid JSON text.',
    },
    {
      name: 'placeholder as an object key',
      spec: transform('{<state>: 1}'),
      message: /uses a placeholder as an object key/,
    },
    {
      name: 'quoted placeholder as an object key',
      spec: transform('{"<state>": 1}'),
      message: /uses a placeholder as an object key/,
    },
  ])('refuses $name', ({ spec, message }) => {
    // Act
    const act = () => validateTargetInput(spec, 'target-1');

    // Assess
    expect(act).toThrow(TargetInputValidationError);
    expect(act).toThrow(message);
  });

  it.each<{ name: string; spec: TargetInputSpec }>([
    { name: 'no input settings', spec: {} },
    { name: 'a JSON string as Input', spec: { Input: '"hello"' } },
    { name: 'Input of exactly 8192 characters', spec: { Input: JSON.stringify('x'.repeat(8190)) } },
    {
      name: 'predefined variables without an InputPathsMap',
      spec: { InputTransformer: { InputTemplate: '"<aws.events.rule-arn>"' } },
    },
    { name: 'exactly 100 InputPathsMap entries', spec: transform('"<v99>"', manyPaths(100)) },
    { name: 'keys with dashes and underscores', spec: transform('"<a-b_c>"', { 'a-b_c': '$.detail.a' }) },
    {
      name: 'an object inside quotes, which only fails at delivery',
      spec: transform('{"p": "<payload>"}', recordedPaths),
    },
    { name: 'a wildcard path', spec: { InputPath: '$.detail.readings[*].value' } },
  ])('accepts $name', ({ spec }) => {
    // Act
    const act = () => validateTargetInput(spec, 'target-1');

    // Assess
    expect(act).not.toThrow();
  });

  it('names the error code PutTargets answers with', () => {
    // Act
    const error = new TargetInputValidationError('x');

    // Assess
    expect(error.code).toBe('ValidationException');
  });
});
