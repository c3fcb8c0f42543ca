/**
 * @module store/usage
 *
 * What the store's space goes to, by data class: the rules both backends share without SQL.
 * A data class is what a retention rule would keep or drop as one: raw bodies (the journal),
 * message content, statuses and reactions, template and account events, deliveries with
 * their attempts, the rejection log; then what is derived (projections, the search index)
 * and what is neither (tokens, the audit log, free pages).
 *
 * Bytes come per table (SQLite `dbstat`, PostgreSQL `pg_total_relation_size`), indexes
 * included. The events table holds three classes; its bytes are shared between them in
 * proportion to each class's rows times the average size of a bounded sample of its newest
 * event bodies, and those shares are marked estimated. Row counts are exact; the oldest item
 * of a class is read through an index (the first row by key or by `(type, seq)`), never by
 * scanning a table.
 */

import type { RetentionClass } from '../retention/policy.js';

/** The data classes, in the order they are shown. */
export const STORAGE_CLASSES = [
  'journal',
  'messages',
  'statuses',
  'accounts',
  'deliveries',
  'rejections',
  'projections',
  'other',
] as const;
export type StorageClassName = (typeof STORAGE_CLASSES)[number];

/** One line per class: a human label for CLI and console. */
export const STORAGE_CLASS_LABELS: Record<StorageClassName, string> = {
  journal: 'raw bodies (journal)',
  messages: 'message events',
  statuses: 'statuses and reactions',
  accounts: 'template and account events',
  deliveries: 'deliveries and attempts',
  rejections: 'rejection log',
  projections: 'projections and search index',
  other: 'other (tokens, audit, free pages)',
};

/**
 * The retention rule (`retention.<key>` in the config) that ages out each class; classes
 * without one are derived (projections follow the events) or kept until removed by hand.
 * Message content is redacted in place, so its rows stay and only their size shrinks.
 */
export const STORAGE_CLASS_RETENTION: Readonly<Record<StorageClassName, RetentionClass | undefined>> = {
  journal: 'rawBodies',
  messages: 'messageContent',
  statuses: 'statuses',
  accounts: 'accountEvents',
  deliveries: 'deliveries',
  rejections: 'rejections',
  projections: undefined,
  other: undefined,
};

export interface StorageClassUsage {
  name: StorageClassName;
  /** Bytes on disk, indexes included. */
  bytes: number;
  /** True when `bytes` is a share of a table holding several classes (the events table). */
  bytesEstimated: boolean;
  /** Rows of the class; absent where a count would mean little (projections, other). */
  rows?: number;
  /** Epoch ms of the oldest item (when it was received, created or refused); absent when none. */
  oldestAt?: number;
  /** The tables whose bytes count here. */
  tables: string[];
}

export interface StorageTableUsage {
  name: string;
  bytes: number;
  class: StorageClassName;
}

export interface StorageUsage {
  dialect: 'sqlite' | 'postgres';
  /** How bytes were measured: SQLite's page walk, or PostgreSQL's relation sizes. */
  sizing: 'dbstat' | 'relation-size' | 'unavailable';
  /** The whole database (SQLite: page count times page size, without the WAL). */
  totalBytes: number;
  /** SQLite: pages on the free list (reused before the file grows). */
  freeBytes?: number;
  classes: StorageClassUsage[];
  /** Every table, largest first. */
  tables: StorageTableUsage[];
}

/** Statuses and reactions: the high-volume events about messages. */
const STATUS_TYPES = new Set(['message.status', 'message.reaction']);
/** Template, account, phone number, Flow and bluetick's own channel notices. */
const ACCOUNT_PREFIXES = ['template.', 'account.', 'phone.', 'flow.', 'channel.'];

/** The class an event type belongs to. */
export function classOfEventType(type: string): 'messages' | 'statuses' | 'accounts' {
  if (STATUS_TYPES.has(type)) return 'statuses';
  if (ACCOUNT_PREFIXES.some((p) => type.startsWith(p))) return 'accounts';
  return 'messages';
}

/** The class a table's bytes count in (`events` is split, see {@link buildUsage}). */
export function classOfTable(table: string): StorageClassName | 'events' {
  if (table === 'events') return 'events';
  if (table === 'journal' || table === 'pipeline_claim') return 'journal';
  if (table === 'deliveries' || table === 'delivery_attempts' || table === 'route_backfills') return 'deliveries';
  if (table === 'rejections') return 'rejections';
  if (table.startsWith('proj_') || table.startsWith('search_')) return 'projections';
  return 'other';
}

/** How many of the newest bodies per event type are measured for the events split. */
export const EVENT_SAMPLE_ROWS = 200;

/** What one backend measured, before classes are formed. */
export interface UsageFacts {
  dialect: StorageUsage['dialect'];
  sizing: StorageUsage['sizing'];
  totalBytes: number;
  freeBytes?: number;
  /** Bytes per table, its indexes included. */
  tableBytes: Record<string, number>;
  /** Per event type: rows, first stored receivedAt, average body length of a bounded sample. */
  eventTypes: Array<{ type: string; rows: number; oldestAt?: number; sampleAvgBytes: number }>;
  journal: { rows: number; oldestAt?: number };
  deliveries: { rows: number; oldestAt?: number; attempts: number };
  rejections: { rows: number; oldestAt?: number };
}

const minDefined = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** Pure: the classes from what a backend measured. */
export function buildUsage(f: UsageFacts): StorageUsage {
  const classes = new Map<StorageClassName, StorageClassUsage>(
    STORAGE_CLASSES.map((name) => [name, { name, bytes: 0, bytesEstimated: false, tables: [] }]),
  );
  const tables: StorageTableUsage[] = [];
  let eventBytes = 0;
  for (const [name, bytes] of Object.entries(f.tableBytes)) {
    const cls = classOfTable(name);
    if (cls === 'events') {
      eventBytes += bytes;
      continue;
    }
    const c = classes.get(cls)!;
    c.bytes += bytes;
    c.tables.push(name);
    tables.push({ name, bytes, class: cls });
  }
  if (f.freeBytes !== undefined && f.freeBytes > 0) classes.get('other')!.bytes += f.freeBytes;

  // The events table: rows and oldest exactly, bytes by weight (rows x sampled body size).
  const weight = new Map<StorageClassName, number>();
  let totalWeight = 0;
  for (const t of f.eventTypes) {
    const name = classOfEventType(t.type);
    const c = classes.get(name)!;
    c.rows = (c.rows ?? 0) + t.rows;
    c.oldestAt = minDefined(c.oldestAt, t.oldestAt);
    const w = t.rows * Math.max(1, t.sampleAvgBytes);
    weight.set(name, (weight.get(name) ?? 0) + w);
    totalWeight += w;
  }
  const eventClasses = ['messages', 'statuses', 'accounts'] as const;
  for (const name of eventClasses) {
    const c = classes.get(name)!;
    c.rows ??= 0;
    if (f.tableBytes.events !== undefined) c.tables.push('events');
    const w = weight.get(name) ?? 0;
    if (totalWeight > 0 && w > 0) {
      c.bytes += Math.round((eventBytes * w) / totalWeight);
      c.bytesEstimated = true;
    }
  }
  if (totalWeight === 0 && eventBytes > 0) classes.get('messages')!.bytes += eventBytes;
  if (f.tableBytes.events !== undefined) {
    // The per-table list shows the events table whole, under the class with most of it.
    const top = eventClasses.reduce((a, b) => ((weight.get(b) ?? 0) > (weight.get(a) ?? 0) ? b : a), 'messages' as StorageClassName);
    tables.push({ name: 'events', bytes: eventBytes, class: top });
  }

  const journal = classes.get('journal')!;
  journal.rows = f.journal.rows;
  if (f.journal.oldestAt !== undefined) journal.oldestAt = f.journal.oldestAt;
  const deliveries = classes.get('deliveries')!;
  deliveries.rows = f.deliveries.rows + f.deliveries.attempts;
  if (f.deliveries.oldestAt !== undefined) deliveries.oldestAt = f.deliveries.oldestAt;
  const rejections = classes.get('rejections')!;
  rejections.rows = f.rejections.rows;
  if (f.rejections.oldestAt !== undefined) rejections.oldestAt = f.rejections.oldestAt;

  for (const c of classes.values()) {
    if (c.oldestAt === undefined) delete c.oldestAt;
    c.tables.sort();
  }
  tables.sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  const usage: StorageUsage = {
    dialect: f.dialect,
    sizing: f.sizing,
    totalBytes: f.totalBytes,
    classes: STORAGE_CLASSES.map((n) => classes.get(n)!),
    tables,
  };
  if (f.freeBytes !== undefined) usage.freeBytes = f.freeBytes;
  return usage;
}
