/**
 * The shapes the console reads from `/api` (see `GET /api/openapi.json`). Only the keys the
 * console uses are listed; keys that do not apply are absent, never null.
 *
 * Where `/api` answers with the server's own projection rows (messages, reactions, templates)
 * and event names, their types are imported, types only: the console bundles none of the
 * server's code, and a change to a row shows up here as a type error.
 */
import type { EventType } from '../../src/events/types.js';
import type { MessageRow, StatusEntry } from '../../src/projections/message-status.js';
import type { ReactionRow } from '../../src/projections/reactions.js';
import type { TemplateRow } from '../../src/projections/templates.js';

export type { EventType, StatusEntry };
/** What the sending code recorded for an outbound message (`POST /api/outbound`). */
export interface OutboundRecord {
  messageId: string;
  to?: string;
  businessNumber?: string;
  templateName?: string;
  templateLanguage?: string;
  text?: string;
  bizOpaqueCallbackData?: string;
  tags?: string[];
  sentAt?: string;
  recordedAt: string;
  recordedBy: string;
}

export type Message = MessageRow & { tracked?: OutboundRecord };
export type Reaction = ReactionRow;
export type Template = TemplateRow;

/** Every event type, for the type filters: the server's own list, so a new type shows up without an edit here. */
export { EVENT_TYPES } from '../../src/events/types.js';

export interface ApiEvent {
  id: string;
  type: EventType;
  provider: 'meta' | 'enablex';
  channel: string;
  businessAccountId?: string;
  phoneNumberId?: string;
  displayPhoneNumber?: string;
  messageId?: string;
  from?: string;
  contactName?: string;
  kind?: string;
  text?: string;
  /** Location messages. */
  latitude?: number;
  longitude?: number;
  replyId?: string;
  contextMessageId?: string;
  emoji?: string;
  targetMessageId?: string;
  status?: string;
  recipientId?: string;
  errorCodes?: number[];
  templateId?: string;
  templateName?: string;
  language?: string;
  reason?: string;
  occurredAt?: string;
  receivedAt: string;
  data?: unknown;
}

export interface StoredEvent {
  seq: number;
  journalId: number;
  duplicates: number;
  event: ApiEvent;
}

export interface JournalBody {
  size: number;
  text?: string;
  base64: string;
}

export interface JournalRow {
  id: number;
  channel: string;
  receivedAt: string;
  remoteAddress?: string;
  headers: Record<string, string>;
  verifiedBy: 'basic' | 'meta-signature' | 'meta-signature-escaped' | 'none';
  state: 'pending' | 'processed' | 'duplicate' | 'quarantined' | 'failed';
  cause?: string;
  eventCount: number;
  newEventCount: number;
  processedAt?: string;
  body?: JournalBody;
  size?: number;
  preview?: string;
}

export interface EventDetail {
  seq: number;
  journalId: number;
  duplicates: number;
  event: ApiEvent;
  journal?: JournalRow;
}

export interface JournalDetail extends JournalRow {
  events: StoredEvent[];
}

export interface MessageDetail {
  message: Message;
  reactions: Reaction[];
}

export interface Conversation {
  key: string;
  businessNumber: string;
  /** The business's display number when `businessNumber` is a phone-number id (Meta). */
  displayNumber?: string;
  contact: string;
  lastInbound?: { messageId?: string; at: string; kind: string; text?: string };
  lastOutbound?: { messageId: string; at: string };
  windowOpenUntil?: string;
  isWindowOpen: boolean;
  lastActivityAt?: string;
  counts: { inbound: number; outbound: number; unreadInbound: number };
  firstUnansweredAt?: string;
  unanswered: Array<{ messageId: string; at: string }>;
  /** The latest handover: who owns the thread now. */
  owner?: { kind?: string; role?: string; previousRole?: string; at: string; eventId: string };
  /** Conversations begun from a click-to-WhatsApp ad. */
  ctwaClid?: string;
  freeEntryWindowOpenUntil?: string;
  isFreeEntryWindowOpen?: boolean;
}

export interface Contact {
  waId: string;
  profile?: { name: string; at: string; eventId: string };
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface Rejection {
  id: number;
  at: string;
  channel?: string;
  cause: string;
  method: string;
  path: string;
  remoteAddress?: string;
  detail?: string;
}

/** `GET /api/activity`: per-minute counts read from the store. */
export interface ActivityMinute {
  at: string;
  events: number;
  byType: Record<string, number>;
  acks: number;
  delivered: number;
}

export interface Activity {
  at: string;
  from: string;
  minutes: ActivityMinute[];
}

export interface Stats {
  at: string;
  events: { total: number; byType: Record<string, number> };
  journal: Record<'pending' | 'processed' | 'duplicate' | 'quarantined' | 'failed', number>;
  rejections: number;
  messages: { total: number; inbound: number; outbound: number; byStatus: Record<string, number> };
  conversations: number;
  contacts: number;
  templates: { total: number; byStatus: Record<string, number> };
  reactions: number;
  ackLatency: { count: number; p50Ms?: number; p90Ms?: number; p99Ms?: number };
  pipeline: { pending: number; lagSeconds: number; oldestPendingAt?: string };
  projections?: { complete: boolean; rebuildThroughSeq?: number };
  deliveries?: unknown;
}

/** `GET /api/storage`: what the store and the data folder take on disk. */
export interface Storage {
  at: string;
  measuredAt: string;
  dialect: 'sqlite' | 'postgres';
  sizing: 'dbstat' | 'relation-size' | 'unavailable';
  totalBytes: number;
  freeBytes?: number;
  classes: Array<{ name: string; label: string; bytes: number; bytesEstimated: boolean; rows?: number; oldestAt?: string; tables: string[]; retention?: { rule: string; keep: string; action: 'deleted' | 'redacted' } }>;
  tables: Array<{ name: string; bytes: number; class: string }>;
  files: Array<{ name: string; role: string; bytes: number }>;
  disk?: { totalBytes: number; freeBytes: number; minFreeBytes: number; low: boolean };
}
