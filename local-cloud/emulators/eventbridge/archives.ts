import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AwsError } from '../shared/aws-protocol.ts';
import { type CompiledPattern, compilePattern, InvalidEventPatternError } from './pattern.ts';

/** An event an archive kept, with the moment the bus accepted it. */
export interface ArchivedEvent {
  readonly event: { readonly time: string };
  readonly ingestionTime: string;
}

/** An archive's definition as CreateArchive takes it (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html). */
const ArchiveDefinition = z.object({
  name: z.string(),
  busName: z.string(),
  eventSourceArn: z.string(),
  eventPattern: z.string().optional(),
  description: z.string().optional(),
  /** 0 keeps events for ever. */
  retentionDays: z.number().int().nonnegative(),
  creationTime: z.number(),
});
type ArchiveDefinition = z.infer<typeof ArchiveDefinition>;

interface Archive extends ArchiveDefinition {
  compiled?: CompiledPattern;
  /** The file's descriptor (appended to synchronously), or the events in memory. */
  store: number | ArchivedEvent[];
}

/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html#API_CreateArchive_RequestSyntax */
const ARCHIVE_NAME = /^[.\-_A-Za-z0-9]{1,48}$/;

const compileArchivePattern = (pattern: string): CompiledPattern => {
  try {
    return compilePattern(pattern);
  } catch (error) {
    if (error instanceof InvalidEventPatternError)
      throw new AwsError('InvalidEventPatternException', error.message);
    throw error;
  }
};

const DAY_MS = 86_400_000;

const notFound = (name: string) =>
  new AwsError('ResourceNotFoundException', `Archive ${name} does not exist.`);

/**
 * EventBridge archives: each keeps the events of one bus that match its pattern (all of them when
 * it has none), appended with one synchronous write before PutEvents answers. Each archive is a
 * JSON Lines file `<data dir>/archive/<name>.jsonl`, its definition in `archives.json` beside
 * them, or in memory (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html).
 */
export class Archives {
  readonly #dir: string | undefined;
  readonly #archives = new Map<string, Archive>();

  constructor(dir?: string) {
    this.#dir = dir;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const definitions = join(dir, 'archives.json');
    if (!existsSync(definitions)) return;
    for (const definition of z.array(ArchiveDefinition).parse(JSON.parse(readFileSync(definitions, 'utf8'))))
      this.#open(definition);
  }

  #open(definition: ArchiveDefinition): Archive {
    if (this.#dir) this.#prune(definition);
    const archive: Archive = {
      ...definition,
      ...(definition.eventPattern !== undefined
        ? { compiled: compileArchivePattern(definition.eventPattern) }
        : {}),
      store: this.#dir ? openSync(this.#file(definition.name), 'a') : [],
    };
    this.#archives.set(definition.name, archive);
    return archive;
  }

  /**
   * Rewrites an archive's file without the events its retention has let go, as AWS deletes them
   * (on open: a local cloud that ran for weeks does not keep what a deployed one would not).
   */
  #prune(definition: ArchiveDefinition): void {
    const file = this.#file(definition.name);
    if (definition.retentionDays === 0 || !existsSync(file)) return;
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    const kept = lines.filter((line) => this.#retained(definition, JSON.parse(line) as ArchivedEvent));
    if (kept.length < lines.length) writeFileSync(file, kept.map((line) => `${line}\n`).join(''));
  }

  /** Whether an archived event is still within its archive's retention (0 days: for ever). */
  #retained(definition: ArchiveDefinition, entry: ArchivedEvent, nowMs = Date.now()): boolean {
    return (
      definition.retentionDays === 0 ||
      Date.parse(entry.ingestionTime) > nowMs - definition.retentionDays * DAY_MS
    );
  }

  #file(name: string): string {
    return join(this.#dir ?? '', `${name}.jsonl`);
  }

  #save(): void {
    if (!this.#dir) return;
    const definitions = [...this.#archives.values()].map(
      ({ compiled: _, store: __, ...definition }) => definition,
    );
    writeFileSync(join(this.#dir, 'archives.json'), JSON.stringify(definitions, null, 2));
  }

  has(name: string): boolean {
    return this.#archives.has(name);
  }

  /** Creates an archive of a bus; `ResourceAlreadyExistsException` if the name is taken. */
  create(definition: Omit<ArchiveDefinition, 'creationTime'>): Archive {
    if (!ARCHIVE_NAME.test(definition.name)) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${definition.name}' at 'archiveName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
      );
    }
    if (this.#archives.has(definition.name))
      throw new AwsError('ResourceAlreadyExistsException', `Archive ${definition.name} already exists.`);
    const archive = this.#open({ ...definition, creationTime: Date.now() });
    this.#save();
    return archive;
  }

  get(name: unknown): Archive {
    const archive = this.#archives.get(String(name));
    if (!archive) throw notFound(String(name));
    return archive;
  }

  /** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateArchive.html */
  update(
    name: unknown,
    changes: { eventPattern?: string; description?: string; retentionDays?: number },
  ): Archive {
    if (
      changes.eventPattern === undefined &&
      changes.description === undefined &&
      changes.retentionDays === undefined
    )
      throw new AwsError(
        'ValidationException',
        'At least one of EventPattern, RetentionDays or Description must be provided.',
      );
    const archive = this.get(name);
    if (changes.eventPattern !== undefined) {
      archive.compiled = compileArchivePattern(changes.eventPattern);
      archive.eventPattern = changes.eventPattern;
    }
    if (changes.description !== undefined) archive.description = changes.description;
    if (changes.retentionDays !== undefined) archive.retentionDays = changes.retentionDays;
    this.#save();
    return archive;
  }

  /** Deletes an archive and the events it kept. */
  delete(name: unknown): void {
    const archive = this.get(name);
    if (typeof archive.store === 'number') {
      closeSync(archive.store);
      rmSync(this.#file(archive.name), { force: true });
    }
    this.#archives.delete(archive.name);
    this.#save();
  }

  list(): Archive[] {
    return [...this.#archives.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Appends a bus's accepted events to each of its archives whose pattern they match. */
  append(busName: string, events: readonly ArchivedEvent[]): void {
    for (const archive of this.#archives.values()) {
      if (archive.busName !== busName) continue;
      const kept = archive.compiled ? events.filter(({ event }) => archive.compiled?.matches(event)) : events;
      if (kept.length === 0) continue;
      if (Array.isArray(archive.store)) {
        archive.store.push(...kept);
        continue;
      }
      const buffer = Buffer.from(kept.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      let written = 0;
      while (written < buffer.length) written += writeSync(archive.store, buffer, written);
    }
  }

  /** Every event an archive keeps, oldest first: none its retention has let go. */
  events(name: string): ArchivedEvent[] {
    const archive = this.#archives.get(name);
    if (!archive) return [];
    const all = Array.isArray(archive.store) ? archive.store : this.#read(name);
    return all.filter((entry) => this.#retained(archive, entry));
  }

  #read(name: string): ArchivedEvent[] {
    const file = this.#file(name);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ArchivedEvent);
  }

  /** EventCount and SizeBytes, as DescribeArchive and ListArchives report them. */
  size(archive: Archive): { EventCount: number; SizeBytes: number } {
    if (Array.isArray(archive.store)) {
      return {
        EventCount: archive.store.length,
        SizeBytes: archive.store.reduce(
          (sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry.event)),
          0,
        ),
      };
    }
    const file = this.#file(archive.name);
    return {
      EventCount: this.events(archive.name).length,
      SizeBytes: existsSync(file) ? statSync(file).size : 0,
    };
  }

  close(): void {
    for (const archive of this.#archives.values())
      if (typeof archive.store === 'number') closeSync(archive.store);
  }
}

export type { Archive };
