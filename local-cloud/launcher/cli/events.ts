import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buses, ENRICH_DEAD_LETTERS } from '../../../infra/topology.ts';
import { loadCredentials } from '../credentials.ts';
import { eventsAdmin, replayArchive } from './events-admin.ts';

const usage = `Usage: npm run events -- <command> [options]   (against a running \`npm start\`)

  tail        [--bus telemetry|websocket] [--pattern '<event pattern>']
              print events as they pass on a bus (every bus when --bus is absent)
  replay      --bus telemetry --from <ISO time> [--to <ISO time>] [--rule <name>]...
              re-deliver archived events of a time range to the bus's rules (or the named
              ones), with EventBridge's StartReplay, and wait for it to complete
  dead-letters [--queue <name>]
              list dead letters (each with the rule or workflow, target and error that put it there)
  redrive     --queue <name>
              send a queue's dead letters back to their targets; --queue ${ENRICH_DEAD_LETTERS}
              runs the enrichment again for every reading that could not be enriched; a
              dead-letter queue of SQS queues is moved back with SQS's StartMessageMoveTask

The edge is at http://localhost:$SENSORBUS_EDGE_PORT (4566); requests are signed with the
credentials in $SENSORBUS_DATA_DIR/credentials.json (.sensorbus).`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    bus: { type: 'string' },
    pattern: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    queue: { type: 'string' },
    rule: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
});

const edgeUrl = `http://localhost:${process.env.SENSORBUS_EDGE_PORT ?? '4566'}`;

/** The edge refuses unsigned requests: sign with the credentials `npm start` wrote. */
const edgeOfRunningCloud = () => {
  const dataDir = resolve(process.env.SENSORBUS_DATA_DIR ?? '.sensorbus');
  const awsCredentials = loadCredentials(dataDir)?.aws;
  if (!awsCredentials)
    throw new Error(`No edge credentials in ${dataDir}/credentials.json: start sensorbus first (npm start)`);
  return { edgeUrl, awsCredentials };
};
const adminOfRunningCloud = () => eventsAdmin(edgeOfRunningCloud());
const busName = (name: string | undefined) =>
  name === undefined ? undefined : (buses[name as keyof typeof buses]?.name ?? name);

const tail = async () => {
  const query = new URLSearchParams();
  const bus = busName(values.bus);
  if (bus) query.set('bus', bus);
  if (values.pattern) query.set('pattern', values.pattern);
  const response = await adminOfRunningCloud().tail(query);
  if (!response.ok || !response.body) throw new Error(await response.text());
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const parsed = JSON.parse(line) as {
        bus?: string;
        event?: { time: string; source: string; 'detail-type': string };
      };
      if (parsed.event) {
        console.log(
          `${parsed.event.time}  ${parsed.bus}  ${parsed.event.source}  ${parsed.event['detail-type']}`,
        );
        console.log(`  ${JSON.stringify(parsed.event)}`);
      } else {
        console.log(`tailing ${JSON.stringify(parsed)} (Ctrl-C to stop)`);
      }
      newline = buffer.indexOf('\n');
    }
  }
};

const main = async () => {
  const [command] = positionals;
  switch (command) {
    case 'tail':
      return tail();
    case 'replay': {
      if (!values.bus || !values.from) throw new Error('replay needs --bus and --from');
      const replayed = await replayArchive(edgeOfRunningCloud(), {
        busName: busName(values.bus) ?? values.bus,
        from: new Date(values.from),
        to: values.to ? new Date(values.to) : new Date(),
        ...(values.rule ? { rules: values.rule } : {}),
      });
      return console.log(JSON.stringify(replayed, null, 2));
    }
    case 'dead-letters':
      return console.log(JSON.stringify(await adminOfRunningCloud().deadLetters(values.queue), null, 2));
    case 'redrive':
      if (!values.queue) throw new Error('redrive needs --queue');
      return console.log(await adminOfRunningCloud().redrive(values.queue));
    default:
      console.log(usage);
      process.exitCode = command === undefined || values.help ? 0 : 2;
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
