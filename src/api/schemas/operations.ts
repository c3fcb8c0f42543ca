/**
 * @module api/schemas/operations
 *
 * Answers about running the receiver: rejections, failed logins per address, counts; and every list page.
 */
import { z } from 'zod';
import { component, iso, pageOf } from './base.js';
import { REJECTION_CAUSES } from './queries.js';
import { errorSchema, journalSummarySchema, storedEventSchema } from './events.js';
import { conversationSchema, messageSchema } from './messages.js';
import { consentSchema, contactSchema, templateSchema } from './account.js';

export const rejectionSchema = component(
  'Rejection',
  z.strictObject({
    id: z.number().int(),
    at: iso(),
    channel: z.string().optional(),
    cause: z.enum(REJECTION_CAUSES),
    method: z.string(),
    path: z.string(),
    remoteAddress: z.string().optional(),
    detail: z.string().optional(),
  }),
  'A request refused before the journal.',
);

export const addressFailuresSchema = component(
  'AddressFailures',
  z.strictObject({
    address: z.string().meta({ description: 'The client address (IPv6: its /64), as the backoff counts it; see SECURITY.md.' }),
    failures: z.number().int().meta({ description: 'Failures since its last success.' }),
    totalFailures: z.number().int(),
    refused: z.number().int().meta({ description: 'Requests answered 429 while it had to wait.' }),
    firstFailureAt: iso(),
    lastFailureAt: iso(),
    blockedUntil: iso().optional(),
  }),
  'Failed authentications (ingest credentials, verify tokens, the admin token) from one address, kept apart from the trimmed rejection log.',
);

export const addressFailuresListSchema = component('AddressFailuresList', z.strictObject({ items: z.array(addressFailuresSchema) }));

const countMap = z.record(z.string(), z.number().int());

export const statsSchema = component(
  'Stats',
  z.strictObject({
    at: iso(),
    events: z.strictObject({ total: z.number().int(), byType: countMap }),
    journal: z.strictObject({
      pending: z.number().int(),
      processed: z.number().int(),
      duplicate: z.number().int(),
      quarantined: z.number().int(),
      failed: z.number().int(),
    }),
    rejections: z.number().int(),
    messages: z.strictObject({
      total: z.number().int(),
      inbound: z.number().int(),
      outbound: z.number().int(),
      byStatus: countMap.meta({ description: 'Outbound messages by current status.' }),
    }),
    conversations: z.number().int(),
    contacts: z.number().int(),
    templates: z.strictObject({ total: z.number().int(), byStatus: countMap }),
    reactions: z.number().int(),
    ackLatency: z
      .strictObject({
        count: z.number().int(),
        p50Ms: z.number().optional(),
        p90Ms: z.number().optional(),
        p99Ms: z.number().optional(),
      })
      .meta({ description: 'Time to the durable 200 of webhook POSTs since the server started, estimated from the histogram buckets.' }),
    pipeline: z.strictObject({
      pending: z.number().int(),
      lagSeconds: z.number().meta({ description: 'Age of the oldest journal row not yet normalized; 0 when caught up.' }),
      oldestPendingAt: iso().optional(),
    }),
    projections: z.strictObject({
      complete: z.boolean().meta({ description: 'false while a rebuild runs or is needed (`bluetick rebuild`).' }),
      rebuildThroughSeq: z.number().int().optional(),
    }),
  }),
);

export const storageSchema = component(
  'Storage',
  z.strictObject({
    at: iso(),
    measuredAt: iso().meta({ description: 'When the store was measured; the measurement is kept for a minute.' }),
    dialect: z.enum(['sqlite', 'postgres']),
    sizing: z
      .enum(['dbstat', 'relation-size', 'unavailable'])
      .meta({ description: "How bytes were measured: SQLite's `dbstat` page walk, PostgreSQL's `pg_total_relation_size`, or not at all." }),
    totalBytes: z.number().int().meta({ description: 'The whole database (SQLite: without its WAL, which is in `files`).' }),
    freeBytes: z.number().int().optional().meta({ description: 'SQLite: pages on the free list, reused before the file grows.' }),
    classes: z.array(
      z.strictObject({
        name: z.enum(['journal', 'messages', 'statuses', 'accounts', 'deliveries', 'rejections', 'projections', 'other']),
        label: z.string(),
        bytes: z.number().int().meta({ description: 'Bytes on disk, indexes included.' }),
        bytesEstimated: z
          .boolean()
          .meta({ description: "true for a share of the events table (rows times a bounded sample's average body size)." }),
        rows: z.number().int().optional(),
        oldestAt: iso().optional(),
        tables: z.array(z.string()),
        retention: z
          .strictObject({
            rule: z.enum(['rawBodies', 'messageContent', 'statuses', 'accountEvents', 'deliveries', 'rejections']),
            keep: z.string().meta({ description: 'The age limit as configured (`30d`, `12h`, `none`).' }),
            action: z.enum(['deleted', 'redacted']).meta({ description: 'What happens past the limit: rows deleted, or their content redacted in place.' }),
          })
          .optional()
          .meta({ description: 'The `retention.<rule>` that ages this class out; absent for derived data (projections) and the rest.' }),
      }),
    ),
    tables: z.array(z.strictObject({ name: z.string(), bytes: z.number().int(), class: z.string() })),
    files: z
      .array(z.strictObject({ name: z.string(), role: z.enum(['database', 'database-wal', 'inbox', 'inbox-wal']), bytes: z.number().int() }))
      .meta({ description: "The SQLite files in the data folder (none with PostgreSQL)." }),
    disk: z
      .strictObject({
        totalBytes: z.number().int(),
        freeBytes: z.number().int().meta({ description: 'Space the service user can still write.' }),
        minFreeBytes: z.number().int().meta({ description: '`server.minFreeDiskBytes`; 0 when the warning is off.' }),
        low: z.boolean(),
      })
      .optional()
      .meta({ description: "The filesystem holding the data folder." }),
  }),
  'What the store and the data folder take on disk, by data class.',
);

export const eventPageSchema = pageOf('EventPage', storedEventSchema);
export const messagePageSchema = pageOf('MessagePage', messageSchema);
export const conversationPageSchema = pageOf('ConversationPage', conversationSchema);
export const contactPageSchema = pageOf('ContactPage', contactSchema);
export const templatePageSchema = pageOf('TemplatePage', templateSchema);
export const rejectionPageSchema = pageOf('RejectionPage', rejectionSchema);
export const journalPageSchema = pageOf('JournalPage', journalSummarySchema);

export type ErrorBody = z.infer<typeof errorSchema>;

export const consentPageSchema = pageOf('ConsentPage', consentSchema);
