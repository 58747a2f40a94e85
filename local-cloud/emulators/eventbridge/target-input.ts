/**
 * What an EventBridge rule target receives: the whole event, a constant (`Input`), a part of the event
 * (`InputPath`) or a rendered template (`InputTransformer`).
 *
 * Behaviour copies https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html,
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html and
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html, checked against
 * transformations recorded on AWS (LocalStack's `test_events_inputs.snapshot.json`).
 */

/** A target's input settings, as PutTargets takes them. */
export interface TargetInputSpec {
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

/** The values EventBridge supplies for the predefined template variables. */
export interface TargetInputContext {
  ruleName: string;
  ruleArn: string;
  /** ISO 8601 time at which the bus accepted the event. */
  ingestionTime: string;
}

/**
 * A target whose input settings PutTargets refuses, with AWS's error code so the local PutTargets can
 * answer in AWS's error shape.
 */
export class TargetInputValidationError extends Error {
  readonly code = 'ValidationException';

  constructor(message: string) {
    super(message);
    this.name = 'TargetInputValidationError';
  }
}

/**
 * The input for one event could not be produced, so the delivery fails as it does on AWS (counted as a
 * failed invocation, then retried or sent to the dead-letter queue). This happens when a JSON template
 * renders to text that is not JSON, for example because a string holding a quote was put inside quotes
 * (EventBridge does not escape extracted values there), or when `InputPath` selects nothing.
 */
export class TargetInputRenderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TargetInputRenderError';
  }
}

/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html */
const MAX_INPUT_LENGTH = 8192;
const MAX_INPUT_PATH_LENGTH = 256;
/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html */
const MAX_TEMPLATE_LENGTH = 8192;
const MAX_PATHS_MAP_ENTRIES = 100;
const MAX_PATHS_MAP_KEY_LENGTH = 256;
const PATHS_MAP_KEY_PATTERN = /^[A-Za-z0-9_-]+$/;

const PREDEFINED_VARIABLES = new Set([
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event',
  'aws.events.event.json',
  'aws.events.event.ingestion-time',
]);

type JsonPathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

interface JsonPath {
  steps: JsonPathStep[];
  /** True when a wildcard makes the path select a list of values rather than one value. */
  indefinite: boolean;
}

const NAME_CHAR = /[^.[\]\s'"]/;

/**
 * Parses the JsonPath subset EventBridge evaluates (`$`, dot notation with dashes, underscores, slashes and
 * alphanumerics, array indices, quoted bracket keys, `*` wildcards); anything else is not a path.
 */
const parseJsonPath = (text: string): JsonPath | undefined => {
  if (!text.startsWith('$')) return undefined;
  const steps: JsonPathStep[] = [];
  let indefinite = false;
  let i = 1;
  while (i < text.length) {
    const char = text[i];
    if (char === '.') {
      i += 1;
      if (text[i] === '*') {
        steps.push({ kind: 'wildcard' });
        indefinite = true;
        i += 1;
        continue;
      }
      const start = i;
      while (i < text.length && NAME_CHAR.test(text.charAt(i))) i += 1;
      if (i === start) return undefined;
      steps.push({ kind: 'key', key: text.slice(start, i) });
    } else if (char === '[') {
      const close = text.indexOf(']', i);
      if (close === -1) return undefined;
      const inner = text.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === '*') {
        steps.push({ kind: 'wildcard' });
        indefinite = true;
      } else if (/^\d+$/.test(inner)) {
        steps.push({ kind: 'index', index: Number(inner) });
      } else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner)) {
        steps.push({ kind: 'key', key: inner.slice(1, -1) });
      } else {
        return undefined;
      }
    } else {
      return undefined;
    }
  }
  return { steps, indefinite };
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const hasOwn = (value: object, key: string): boolean => Object.hasOwn(value, key);

/** Values selected by a path; a definite path selects at most one. */
const selectAll = (root: unknown, steps: readonly JsonPathStep[]): unknown[] => {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === 'key') {
        if (isRecord(value) && hasOwn(value, step.key)) next.push(value[step.key]);
      } else if (step.kind === 'index') {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if (Array.isArray(value)) {
        next.push(...value);
      } else if (isRecord(value)) {
        next.push(...Object.values(value));
      }
    }
    current = next;
  }
  return current;
};

/** The value at a path, or `undefined` when a definite path selects nothing; wildcards yield a list. */
const evaluate = (path: JsonPath, root: unknown): unknown => {
  const values = selectAll(root, path.steps);
  return path.indefinite ? values : values[0];
};

const forTarget = (targetId: string | undefined): string => (targetId ? ` for target ${targetId}` : '');

/** AWS's model-validation wording for a member that breaks a length or pattern constraint. */
const constraintError = (value: string, member: string, constraint: string): TargetInputValidationError =>
  new TargetInputValidationError(
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );

/** PutTargets' length limit on a member, refused with AWS's constraint message. */
const requireLengthAtMost = (value: string, member: string, max: number): void => {
  if (value.length > max)
    throw constraintError(value, member, `Member must have length less than or equal to ${max}`);
};

const PLACEHOLDER = /<([^<>]*)>/g;

/** Placeholder names in order of appearance. */
const placeholdersOf = (template: string): string[] =>
  Array.from(template.matchAll(PLACEHOLDER), (match) => match[1] ?? '');

/** A template whose text is a JSON object; AWS renders it with JSON-aware quoting and checks the result. */
const isJsonTemplate = (template: string): boolean => template.trimStart().startsWith('{');

interface TemplatePart {
  readonly text: string;
  readonly placeholder?: { readonly name: string; readonly inString: boolean };
}

/** Splits a template into literal text and placeholders, noting which placeholders sit inside a JSON string. */
const scanTemplate = (template: string): TemplatePart[] => {
  const parts: TemplatePart[] = [];
  let literal = '';
  let inString = false;
  let i = 0;
  while (i < template.length) {
    const char = template.charAt(i);
    if (char === '<') {
      const close = template.indexOf('>', i + 1);
      const name = close === -1 ? undefined : template.slice(i + 1, close);
      if (name !== undefined && !name.includes('<')) {
        parts.push({ text: literal });
        literal = '';
        parts.push({ text: '', placeholder: { name, inString } });
        i = close + 1;
        continue;
      }
    }
    if (inString && char === '\\') {
      literal += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (char === '"') inString = !inString;
    literal += char;
    i += 1;
  }
  parts.push({ text: literal });
  return parts;
};

const SENTINEL = '\u2063placeholder\u2063';

/**
 * PutTargets refuses a JSON template that is not JSON once its placeholders are filled, and one that uses a
 * placeholder as an object key (API_InputTransformer.html).
 */
const checkJsonTemplate = (template: string, targetId: string | undefined): void => {
  const probe = scanTemplate(template)
    .map((part) => {
      if (!part.placeholder) return part.text;
      return part.placeholder.inString ? SENTINEL : JSON.stringify(SENTINEL);
    })
    .join('');
  let parsed: unknown;
  try {
    parsed = JSON.parse(probe);
  } catch {
    throw new TargetInputValidationError(`InputTemplate${forTarget(targetId)} is not a valid JSON text.`);
  }
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (isRecord(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes(SENTINEL)) {
          throw new TargetInputValidationError(
            `InputTemplate${forTarget(targetId)} uses a placeholder as an object key, which is not allowed.`,
          );
        }
        visit(item);
      }
    }
  };
  visit(parsed);
};

const validateTransformer = (
  transformer: NonNullable<TargetInputSpec['InputTransformer']>,
  targetId: string | undefined,
): void => {
  const template = transformer.InputTemplate;
  if (typeof template !== 'string') {
    throw new TargetInputValidationError(
      "1 validation error detected: Value null at 'inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null",
    );
  }
  if (template.length < 1) {
    throw constraintError(
      template,
      'inputTransformer.inputTemplate',
      'Member must have length greater than or equal to 1',
    );
  }
  requireLengthAtMost(template, 'inputTransformer.inputTemplate', MAX_TEMPLATE_LENGTH);
  const pathsMap = transformer.InputPathsMap ?? {};
  const entries = Object.entries(pathsMap);
  if (entries.length > MAX_PATHS_MAP_ENTRIES) {
    throw new TargetInputValidationError(
      `1 validation error detected: Value at 'inputTransformer.inputPathsMap' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PATHS_MAP_ENTRIES}`,
    );
  }
  for (const [name, path] of entries) {
    if (PREDEFINED_VARIABLES.has(name) || name.startsWith('aws.events.')) {
      throw new TargetInputValidationError(
        `InputPathsMap${forTarget(targetId)} contains the reserved variable name ${name}.`,
      );
    }
    if (name.length > MAX_PATHS_MAP_KEY_LENGTH || !PATHS_MAP_KEY_PATTERN.test(name)) {
      throw constraintError(
        name,
        'inputTransformer.inputPathsMap',
        'Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]',
      );
    }
    if (typeof path !== 'string' || path.length > MAX_INPUT_PATH_LENGTH || !parseJsonPath(path)) {
      throw new TargetInputValidationError(
        `InputPathsMap${forTarget(targetId)} contains invalid JsonPath ${String(path)} for ${name}.`,
      );
    }
  }
  for (const name of placeholdersOf(template)) {
    if (!hasOwn(pathsMap, name) && !PREDEFINED_VARIABLES.has(name)) {
      throw new TargetInputValidationError(
        `InputTemplate${forTarget(targetId)} contains invalid placeholder ${name}.`,
      );
    }
  }
  if (isJsonTemplate(template)) checkJsonTemplate(template, targetId);
};

/**
 * Validates a target's input settings as PutTargets does, so the local PutTargets refuses what AWS
 * refuses: at most one of `Input`, `InputPath` and `InputTransformer`; `Input` valid JSON of at most
 * 8192 characters; `InputPath` a supported JsonPath of at most 256 characters; `InputPathsMap` at most
 * 100 entries whose names match `[A-Za-z0-9_-]+`, are not reserved (`aws.events.*`) and whose values are
 * JsonPaths; `InputTemplate` 1 to 8192 characters, every `<placeholder>` defined, and a JSON-object
 * template valid JSON with no placeholder as a key.
 *
 * The two messages recorded on AWS are reproduced word for word ("Only one of Input, InputPath, or
 * InputTransformer must be provided for target …", "InputTemplate for target … contains invalid
 * placeholder …"); the others follow AWS's style.
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
 * @param targetId the target's `Id`, named in the messages as AWS does
 * @throws {TargetInputValidationError} when PutTargets would refuse the settings
 */
export function validateTargetInput(spec: TargetInputSpec, targetId?: string): void {
  const provided = [spec.Input, spec.InputPath, spec.InputTransformer].filter((value) => value !== undefined);
  if (provided.length > 1) {
    throw new TargetInputValidationError(
      `Only one of Input, InputPath, or InputTransformer must be provided${forTarget(targetId)}.`,
    );
  }
  if (spec.Input !== undefined) {
    requireLengthAtMost(spec.Input, 'input', MAX_INPUT_LENGTH);
    try {
      JSON.parse(spec.Input);
    } catch {
      throw new TargetInputValidationError(`Input${forTarget(targetId)} is not a valid JSON text.`);
    }
  }
  if (spec.InputPath !== undefined) {
    requireLengthAtMost(spec.InputPath, 'inputPath', MAX_INPUT_PATH_LENGTH);
    if (!parseJsonPath(spec.InputPath)) {
      throw new TargetInputValidationError(`InputPath${forTarget(targetId)} is not a valid JsonPath.`);
    }
  }
  if (spec.InputTransformer !== undefined) validateTransformer(spec.InputTransformer, targetId);
}

const MISSING = Symbol('missing');

/** `aws.events.event`: the envelope without `detail`, `detail-type` spelled `detailType`, as recorded on AWS. */
const eventEnvelope = (event: Record<string, unknown>, ingestionTime: string): Record<string, unknown> => {
  const envelope: Record<string, unknown> = {};
  const order = ['id', 'account', 'detailType', 'time', 'source', 'region', 'resources', 'version'];
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'detail') continue;
    renamed[key === 'detail-type' ? 'detailType' : key] = value;
  }
  renamed.time = ingestionTime;
  for (const key of order) if (hasOwn(renamed, key)) envelope[key] = renamed[key];
  for (const [key, value] of Object.entries(renamed)) if (!hasOwn(envelope, key)) envelope[key] = value;
  return envelope;
};

const resolveVariable = (
  name: string,
  pathsMap: Record<string, string>,
  event: Record<string, unknown>,
  ctx: TargetInputContext,
): unknown => {
  switch (name) {
    case 'aws.events.rule-name':
      return ctx.ruleName;
    case 'aws.events.rule-arn':
      return ctx.ruleArn;
    case 'aws.events.event.ingestion-time':
      return ctx.ingestionTime;
    case 'aws.events.event':
      return eventEnvelope(event, ctx.ingestionTime);
    case 'aws.events.event.json':
      return event;
  }
  const path = pathsMap[name];
  const parsed = path === undefined ? undefined : parseJsonPath(path);
  if (!parsed) return MISSING;
  const value = evaluate(parsed, event);
  return value === undefined ? MISSING : value;
};

/**
 * How one value is written into a template. A missing path becomes the empty string, so it renders as
 * `""` where the template leaves it unquoted and as nothing inside quotes (recorded on AWS).
 */
const renderValue = (value: unknown, mode: 'json-value' | 'raw' | 'unquoted-text'): string => {
  if (value === MISSING) return mode === 'json-value' ? '""' : '';
  if (typeof value === 'string') return mode === 'json-value' ? JSON.stringify(value) : value;
  const json = JSON.stringify(value) ?? 'null';
  if (mode === 'unquoted-text' && typeof value === 'object' && value !== null)
    return json.replaceAll('"', '');
  return json;
};

/** Drops the whitespace between JSON tokens; AWS passes JSON templates to targets minified. */
const minifyJson = (text: string): string => {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (inString) {
      out += char;
      if (char === '\\') {
        out += text.charAt(i + 1);
        i += 1;
      } else if (char === '"') {
        inString = false;
      }
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (!/\s/.test(char)) {
      out += char;
    }
  }
  return out;
};

const renderTemplate = (
  transformer: NonNullable<TargetInputSpec['InputTransformer']>,
  event: Record<string, unknown>,
  ctx: TargetInputContext,
): string => {
  const template = transformer.InputTemplate;
  const pathsMap = transformer.InputPathsMap ?? {};
  const json = isJsonTemplate(template);
  const rendered = scanTemplate(template)
    .map((part) => {
      if (!part.placeholder) return part.text;
      const value = resolveVariable(part.placeholder.name, pathsMap, event, ctx);
      if (!json) return renderValue(value, 'unquoted-text');
      return renderValue(value, part.placeholder.inString ? 'raw' : 'json-value');
    })
    .join('');
  if (!json) return rendered;
  try {
    JSON.parse(rendered);
  } catch (error) {
    throw new TargetInputRenderError(
      `InputTemplate rendered to text that is not valid JSON, so EventBridge cannot deliver it: ${rendered}`,
      { cause: error },
    );
  }
  return minifyJson(rendered);
};

/**
 * Renders the exact body a target receives for one event, so local targets see what AWS targets see.
 *
 * - No input settings: the event as JSON. `Input`: that text, unchanged. `InputPath`: the JSON at the
 *   path (a wildcard selects a list); a path that selects nothing fails the delivery.
 * - `InputTransformer` with a JSON-object template (`{…}`): a placeholder outside quotes is replaced by the
 *   value as JSON (strings get quotes and escaping, objects and arrays stay JSON); inside quotes the value
 *   is inserted as is, unescaped, so a string holding `"`, a newline or a stray `\`, or an object or array
 *   inside quotes, breaks the JSON and the delivery fails with {@link TargetInputRenderError}. The result
 *   is minified.
 * - Any other template (a quoted string such as `"Device <d> is <v>"`, or plain text): every value is
 *   inserted as is; objects and arrays lose their quotes (`{a:1,b:x}`), and the result is not checked.
 * - A path that does not exist in the event renders as the empty string (`""` for an unquoted placeholder
 *   in a JSON template). `null` renders as `null`.
 * - Predefined variables: `<aws.events.rule-name>`, `<aws.events.rule-arn>`,
 *   `<aws.events.event.ingestion-time>` are strings; `<aws.events.event>` is the event without `detail`,
 *   with `detailType` and the ingestion time; `<aws.events.event.json>` is the whole event. The two event
 *   variables are meant as unquoted JSON field values.
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 * @throws {TargetInputValidationError} when the settings are ones PutTargets refuses
 * @throws {TargetInputRenderError} when AWS would fail this delivery
 */
export function renderTargetInput(
  spec: TargetInputSpec,
  event: Record<string, unknown>,
  ctx: TargetInputContext,
): string {
  validateTargetInput(spec);
  if (spec.Input !== undefined) return spec.Input;
  if (spec.InputPath !== undefined) {
    const path = parseJsonPath(spec.InputPath);
    const value = path ? evaluate(path, event) : undefined;
    if (value === undefined) {
      throw new TargetInputRenderError(`InputPath ${spec.InputPath} selects nothing in the event.`);
    }
    return JSON.stringify(value);
  }
  if (spec.InputTransformer !== undefined) return renderTemplate(spec.InputTransformer, event, ctx);
  return JSON.stringify(event);
}
