/**
 * The shapes the console reads from `/api` (see `GET /api/openapi.json`). Only the keys the
 * console uses are listed; keys that do not apply are absent, never null.
 */

export type EventType =
  | 'message.received'
  | 'message.reaction'
  | 'message.status'
  | 'template.status'
  | 'template.quality'
  | 'template.category'
  | 'unknown';

export const EVENT_TYPES: readonly EventType[] = [
  'message.received',
  'message.reaction',
  'message.status',
  'template.status',
  'template.quality',
  'template.category',
  'unknown',
];

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

export interface StepTime {
  at: string;
  eventId: string;
  implied?: true;
}

export interface StatusEntry {
  eventId: string;
  status: string;
  occurredAt?: string;
  receivedAt: string;
  recipientId?: string;
  errorCodes?: number[];
  conversationKey?: string;
}

export interface Message {
  id: string;
  direction: 'inbound' | 'outbound';
  occurredAt: string;
  conversationKey?: string;
  inbound?: {
    eventId: string;
    occurredAt?: string;
    receivedAt: string;
    channel: string;
    from?: string;
    contactName?: string;
    kind: string;
    text?: string;
    replyId?: string;
    contextMessageId?: string;
    conversationKey?: string;
  };
  recipientId?: string;
  status?: 'sent' | 'delivered' | 'read' | 'played' | 'failed';
  steps: { sent?: StepTime; delivered?: StepTime; read?: StepTime; played?: StepTime };
  failure?: { at: string; eventId: string; errorCodes: number[] };
  timeline: StatusEntry[];
}

export interface Reaction {
  key: string;
  targetMessageId: string;
  from: string;
  emoji: string;
  at: string;
  eventId: string;
  messageId?: string;
}

export interface MessageDetail {
  message: Message;
  reactions: Reaction[];
}

export interface Conversation {
  key: string;
  businessNumber: string;
  contact: string;
  lastInbound?: { messageId?: string; at: string; kind: string; text?: string };
  lastOutbound?: { messageId: string; at: string };
  windowOpenUntil?: string;
  isWindowOpen: boolean;
  lastActivityAt?: string;
  counts: { inbound: number; outbound: number; unreadInbound: number };
  unanswered: Array<{ messageId: string; at: string }>;
}

export interface Contact {
  waId: string;
  profile?: { name: string; at: string; eventId: string };
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface TemplateHistoryEntry {
  eventId: string;
  type: 'template.status' | 'template.quality' | 'template.category';
  status?: string;
  reason?: string;
  occurredAt?: string;
  receivedAt: string;
}

export interface Template {
  key: string;
  templateId?: string;
  name?: string;
  language?: string;
  status?: string;
  statusAt?: string;
  reason?: string;
  quality?: string;
  qualityAt?: string;
  category?: string;
  categoryAt?: string;
  updatedAt: string;
  history: TemplateHistoryEntry[];
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
