/**
 * @module api/endpoints/events
 *
 * `GET /api/events`, `GET /api/events/{id}`, `GET /api/journal/{id}`: the recorded events and
 * the raw POSTs they came from.
 */
import type { EventFilter } from '../../store/store.js';
import { pageRequest, type RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../router.js';
import {
  DEFAULT_LIMIT,
  eventDetailSchema,
  eventPageSchema,
  eventsQuery,
  idPath,
  journalDetailSchema,
  journalIdPath,
} from '../schemas.js';
import { journalView, pageView } from '../views.js';

/** Events listed with a journal row; a POST carries a few hundred items at most. */
const EVENTS_PER_JOURNAL_ROW = 1000;

export function registerEventEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/events',
      operationId: 'listEvents',
      tag: 'events',
      summary: 'List events',
      description: 'Recorded events in insertion order (`seq`), filtered. The cursor is the `seq` of the last item.',
      query: eventsQuery,
      response: eventPageSchema,
    },
    async ({ query }) => {
      const filter: EventFilter = {};
      if (query.type) filter.type = query.type;
      if (query.channel !== undefined) filter.channel = query.channel;
      if (query.phoneNumberId !== undefined) filter.phoneNumberId = query.phoneNumberId;
      if (query.from !== undefined) filter.from = query.from;
      if (query.messageId !== undefined) filter.messageId = query.messageId;
      if (query.since !== undefined) filter.since = query.since;
      if (query.until !== undefined) filter.until = query.until;
      const page = await ctx.store.events.list(filter, pageRequest(query, DEFAULT_LIMIT));
      return pageView(page, (s) => s);
    },
  );

  router.get(
    {
      path: '/api/events/{id}',
      operationId: 'getEvent',
      tag: 'events',
      summary: 'Get one event',
      description: 'The event, how many redeliveries carried it again, and the journal row (raw body and headers) it was first stored from.',
      params: idPath,
      response: eventDetailSchema,
      notFound: true,
    },
    async ({ params }) => {
      const stored = await ctx.store.events.get(params.id);
      if (!stored) throw notFound(`no event with id "${params.id}"`);
      const row = await ctx.store.journal.get(stored.journalId);
      return { ...stored, ...(row ? { journal: journalView(row) } : {}) };
    },
  );

  router.get(
    {
      path: '/api/journal/{id}',
      operationId: 'getJournalRow',
      tag: 'events',
      summary: 'Get one journal row',
      description: 'One POST exactly as received (body as text when valid UTF-8, and base64), with the events first stored from it.',
      params: journalIdPath,
      response: journalDetailSchema,
      notFound: true,
    },
    async ({ params }) => {
      const row = await ctx.store.journal.get(params.id);
      if (!row) throw notFound(`no journal row ${params.id}`);
      const events = await ctx.store.events.list({ journalId: row.id }, { limit: EVENTS_PER_JOURNAL_ROW });
      return { ...journalView(row), events: events.items };
    },
  );
}
