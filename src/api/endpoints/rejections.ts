/**
 * @module api/endpoints/rejections
 *
 * `GET /api/rejections` (requests refused before the journal), `GET /api/rejections/addresses`
 * (failed authentications per client address, which the trimmed log cannot lose) and
 * `GET /api/quarantine` (POSTs journaled but not turned into events: not JSON, or the
 * normalizer failed).
 */
import type { JournalState, RejectionFilter } from '../../store/store.js';
import { pageRequest, type RestContext } from '../context.js';
import type { ApiRouter } from '../router.js';
import { DEFAULT_LIMIT, addressFailuresListSchema, journalPageSchema, quarantineQuery, rejectionPageSchema, rejectionsQuery } from '../schemas.js';
import { isoOf, journalSummaryView, pageView, rejectionView } from '../views.js';

/** Journal rows are big (their bodies); a quarantine page is smaller by default. */
const QUARANTINE_DEFAULT_LIMIT = 20;

export function registerRejectionEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/rejections',
      operationId: 'listRejections',
      tag: 'rejections',
      summary: 'List refused requests',
      description: 'Why providers\' requests were refused (bad credentials, too large, unknown channel, ...), oldest first. The newest 10 000 are kept.',
      query: rejectionsQuery,
      response: rejectionPageSchema,
    },
    async ({ query }) => {
      const filter: RejectionFilter = {};
      if (query.cause) filter.cause = query.cause;
      if (query.channel !== undefined) filter.channel = query.channel;
      if (query.since !== undefined) filter.since = query.since;
      if (query.until !== undefined) filter.until = query.until;
      return pageView(await ctx.store.rejections.list(pageRequest(query, DEFAULT_LIMIT), filter), rejectionView);
    },
  );

  router.get(
    {
      path: '/api/rejections/addresses',
      operationId: 'listFailedAddresses',
      tag: 'rejections',
      summary: 'List client addresses with failed authentications',
      description:
        'Per client address: failed authentications (wrong ingest credentials or signatures, wrong verify tokens, wrong admin tokens), and how often it was answered 429 while it had to wait. Kept apart from the rejection log, so a flood of other refusals cannot push an attack out of sight. The 100 addresses with the most failures since the server started.',
      response: addressFailuresListSchema,
    },
    async () => ({
      items: (ctx.backoff?.offenders(100) ?? []).map((r) => ({
        address: r.address,
        failures: r.failures,
        totalFailures: r.totalFailures,
        refused: r.refused,
        firstFailureAt: isoOf(r.firstFailureAt),
        lastFailureAt: isoOf(r.lastFailureAt),
        ...(r.blockedUntil !== undefined ? { blockedUntil: isoOf(r.blockedUntil) } : {}),
      })),
    }),
  );

  router.get(
    {
      path: '/api/quarantine',
      operationId: 'listQuarantine',
      tag: 'rejections',
      summary: 'List quarantined and failed journal rows',
      description:
        'POSTs that were acknowledged and kept but produced no events: `quarantined` (not a JSON object) or `failed` (the normalizer or the write failed). Each has its cause and a preview; the full body is at /api/journal/{id}.',
      query: quarantineQuery,
      response: journalPageSchema,
    },
    async ({ query }) => {
      const state: JournalState[] = query.state ?? ['quarantined', 'failed'];
      const filter = query.channel === undefined ? { state } : { state, channel: query.channel };
      return pageView(await ctx.store.journal.list(filter, pageRequest(query, QUARANTINE_DEFAULT_LIMIT)), journalSummaryView);
    },
  );
}
