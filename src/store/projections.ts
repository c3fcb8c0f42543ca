/**
 * @module store/projections
 *
 * The projection half of the {@link Store} seam: reading the state that follows from the
 * events (message timelines, conversations, contacts, templates, reactions) and
 * rebuilding it. Types and the interface only; each backend implements them
 * (`store/sqlite/projections.ts`, `store/postgres/projections.ts`) on the dialect-neutral
 * table descriptions and row cache of `store/projection-rows.ts`.
 *
 * How a backend keeps the projections:
 * - In the transaction of `journal.record`, for each event written for the first time, in
 *   `seq` order: load the rows `keysTouched(event)` names, run `applyEvent`, write back the
 *   rows that changed. Duplicates (an event id already stored) are not applied again.
 * - Each row also gets a position, `pos = seq * 4 + slot`: `seq` of the first event that
 *   produced the row, `slot` the index of the row's key in that event's `keysTouched` list
 *   for its kind. When a row is written again, it keeps the smaller position. Lists are
 *   ordered by `pos` and the page cursor is the last `pos` returned, so paging never skips
 *   or repeats a row while new events arrive (new rows land after every cursor handed out).
 * - Rows are the reducers' plain JSON objects, returned exactly as the reducers built them:
 *   a rebuild gives the same rows, byte for byte, as incremental application.
 *
 * Every argument and result is plain data (structured-cloneable).
 */
import type {
  BusinessAccountRow,
  ConsentRow,
  ContactRow,
  ConversationRow,
  FlowRow,
  MessageRow,
  PhoneNumberRow,
  ReactionRow,
  TemplateRow,
} from '../projections/index.js';
import type { Page, PageRequest } from './store.js';

export interface MessageFilter {
  /** Messages filed under this conversation (`<business number>:<contact>`). */
  conversationKey?: string;
  direction?: MessageRow['direction'];
  /** Any of these statuses (`sent`, `delivered`, `read`, `played`, `failed`). */
  status?: string[];
}

export interface ConversationFilter {
  /** `phoneNumberId`, or the display number when the provider gives no id. */
  businessNumber?: string;
  /** The contact's wa_id. */
  contact?: string;
  /** Epoch ms: only conversations with activity (inbound or outbound) at or after it. */
  activeSince?: number;
  /**
   * The customer-service window at instant `at` (epoch ms): `open: true` keeps the
   * conversations whose window is open then (`windowOpenUntil > at`), `false` the others.
   */
  window?: { open: boolean; at: number };
}

export interface ContactFilter {
  /** Case-insensitive substring of the latest profile name. */
  name?: string;
  /** Epoch ms: only contacts last seen at or after it. */
  seenSince?: number;
}

export interface TemplateFilter {
  /** Any of these review statuses (`APPROVED`, `PAUSED`, ...), compared as sent. */
  status?: string[];
  name?: string;
  language?: string;
  /** Any of these quality scores (`GREEN`, `YELLOW`, `RED`, `UNKNOWN`). */
  quality?: string[];
  category?: string[];
}

export interface ConsentFilter {
  /** Any of these categories as sent (`marketing_messages`). */
  category?: string[];
  /** Any of these latest choices as sent (`stop`, `resume`). */
  state?: string[];
  /** The user: wa_id, else business-scoped user id. */
  contact?: string;
  businessAccountId?: string;
}

/** The account-health row of each health projection. */
export interface HealthRows {
  phoneNumbers: PhoneNumberRow;
  businessAccounts: BusinessAccountRow;
  flows: FlowRow;
}

export type HealthKind = keyof HealthRows;
export type HealthRow = HealthRows[HealthKind];

/** Row counts of the projections, for `/api/stats`. */
export interface ProjectionCounts {
  messages: {
    total: number;
    inbound: number;
    outbound: number;
    /** Outbound messages by current status; those with only unknown statuses under `unknown`. */
    byStatus: Record<string, number>;
  };
  conversations: number;
  contacts: number;
  templates: {
    total: number;
    /** By current review status; templates with no status event yet under `unknown`. */
    byStatus: Record<string, number>;
  };
  /** Reaction rows whose emoji is set (removed reactions left out). */
  reactions: number;
  /**
   * Present while a rebuild runs, or when one was interrupted or is needed (a store that
   * held events before projections existed): the projections may miss events until
   * `projections.rebuild` completes.
   */
  rebuild?: { startedAt?: number; throughSeq: number };
}

export interface RebuildOptions {
  /** Events applied per transaction. Default 2000. */
  batchSize?: number;
}

export interface RebuildResult {
  /** Events applied. */
  events: number;
  /** Transactions used to apply them. */
  batches: number;
  /** Wall time, milliseconds. */
  ms: number;
  /** Rows in each projection afterwards. */
  rows: { messages: number; conversations: number; contacts: number; templates: number; reactions: number };
}

/** `Store.projections`: the read models the pipeline keeps (see the module comment). */
export interface ProjectionStore {
  /** One message row by WhatsApp message id (inbound or outbound), with its full timeline. */
  getMessage(id: string): Promise<MessageRow | undefined>;

  /** Message rows in the order they were first seen (`pos`); the cursor is `pos`. */
  listMessages(filter: MessageFilter, page: PageRequest): Promise<Page<MessageRow>>;

  /**
   * The reactions currently on a message, removed ones left out, sorted by (time, user)
   * as `currentReactions` sorts them.
   */
  listReactions(targetMessageId: string): Promise<ReactionRow[]>;

  /** One conversation by key `<business number>:<contact>`. */
  getConversation(key: string): Promise<ConversationRow | undefined>;

  /** Conversation rows in the order they were first seen; the cursor is `pos`. */
  listConversations(filter: ConversationFilter, page: PageRequest): Promise<Page<ConversationRow>>;

  getContact(waId: string): Promise<ContactRow | undefined>;
  listContacts(filter: ContactFilter, page: PageRequest): Promise<Page<ContactRow>>;

  /** One template by key: its template id, else `<name>:<language>`. Includes its history. */
  getTemplate(key: string): Promise<TemplateRow | undefined>;
  listTemplates(filter: TemplateFilter, page: PageRequest): Promise<Page<TemplateRow>>;

  counts(): Promise<ProjectionCounts>;

  // ---- account state: consent and health ----

  /** Consent rows (per business account, user and category) in the order first seen; the cursor is `pos`. */
  listConsent(filter: ConsentFilter, page: PageRequest): Promise<Page<ConsentRow>>;

  /** Rows of one health projection (phone numbers, business accounts, Flows) in the order first seen. */
  listHealth(kind: HealthKind, page: PageRequest): Promise<Page<HealthRow>>;

  /** One health row by key: display phone number, business account id, or Flow id. */
  getHealth(kind: HealthKind, key: string): Promise<HealthRow | undefined>;

  /**
   * Drops every projection row and applies every stored event again, in `seq` order, in
   * transactions of `batchSize` events. Events recorded while it runs are applied too (the
   * reducers ignore an event applied twice, and keep the smaller `pos`), so the result is
   * the incremental one whether or not ingest continued meanwhile. Until it resolves, reads
   * see partial projections, and `counts().rebuild` says so; if it is interrupted,
   * running it again starts over.
   */
  rebuild(opts?: RebuildOptions): Promise<RebuildResult>;
}
