/**
 * @module api/endpoints/consent
 *
 * `GET /api/consent`: what each user chose per category of messages (`user.preferences`),
 * with filters; `GET /api/contacts/{waId}` carries the contact's own rows too.
 */
import type { ConsentFilter } from '../../store/projections.js';
import type { Store } from '../../store/store.js';
import type { ConsentRow } from '../../projections/index.js';
import { pageRequest, type RestContext } from '../context.js';
import type { ApiRouter } from '../router.js';
import { consentPageSchema, consentQuery, DEFAULT_LIMIT } from '../schemas.js';
import { pageView } from '../views.js';

/** Consent rows one contact has (every business account and category; a contact has few). */
export async function consentOf(store: Store, contact: string): Promise<ConsentRow[]> {
  const rows: ConsentRow[] = [];
  let after: number | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await store.projections.listConsent({ contact }, after === undefined ? { limit: 100 } : { after, limit: 100 });
    rows.push(...page.items);
    if (page.next === undefined) break;
    after = page.next;
  }
  return rows;
}

export function registerConsentEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/consent',
      operationId: 'listConsent',
      tag: 'contacts',
      summary: 'List consent',
      description:
        "Each user's latest choice per category of messages (Meta `user_preferences`: `stop`, `resume`), decided by when the user made it, not by arrival order; in the order first seen.",
      query: consentQuery,
      response: consentPageSchema,
    },
    async ({ query }) => {
      const filter: ConsentFilter = {};
      if (query.category) filter.category = query.category;
      if (query.state) filter.state = query.state;
      if (query.contact !== undefined) filter.contact = query.contact;
      if (query.businessAccountId !== undefined) filter.businessAccountId = query.businessAccountId;
      return pageView(await ctx.store.projections.listConsent(filter, pageRequest(query, DEFAULT_LIMIT)), (r) => r);
    },
  );
}
