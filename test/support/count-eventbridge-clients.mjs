/**
 * A module hook (https://nodejs.org/api/module.html#customization-hooks) for a test's child
 * process: every import of `@aws-sdk/client-eventbridge` from outside this hook gets the real
 * module with an `EventBridgeClient` that counts, in `globalThis.eventBridgeClientsCreated`, the
 * clients created, so that a test can tell which module creates one at import.
 */
import { register } from 'node:module';

const COUNTING = 'sensorbus:counting-eventbridge';

const hooks = `
export async function resolve(specifier, context, nextResolve) {
  if (specifier === '@aws-sdk/client-eventbridge' && context.parentURL !== '${COUNTING}') {
    const real = await nextResolve(specifier, context);
    return { url: '${COUNTING}?' + encodeURIComponent(real.url), shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
export async function load(url, context, nextLoad) {
  if (!url.startsWith('${COUNTING}?')) return nextLoad(url, context);
  const real = decodeURIComponent(url.slice('${COUNTING}?'.length));
  const source =
    'import * as real from ' + JSON.stringify(real) + '; export * from ' + JSON.stringify(real) + '; ' +
    'export class EventBridgeClient extends real.EventBridgeClient { constructor(...args) { super(...args); ' +
    'globalThis.eventBridgeClientsCreated = (globalThis.eventBridgeClientsCreated ?? 0) + 1; } }';
  return { format: 'module', source, shortCircuit: true };
}
`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`);
