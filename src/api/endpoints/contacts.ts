/**
 * @module api/endpoints/contacts
 *
 * `GET /api/contacts`, `GET /api/contacts/{id}` (any identifier: wa_id, business-scoped
 * user id, username), `DELETE /api/contacts/{id}` (erase the person: `store/erasure.ts`).
 */
import { z } from 'zod';
import type { ContactFilter } from '../../store/projections.js';
import { pageRequest, type RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../router.js';
import { resolveIdentity } from '../../projections/index.js';
import { component, contactDetailSchema, contactPageSchema, contactsQuery, DEFAULT_LIMIT } from '../schemas.js';
import { pageView } from '../views.js';
import { consentOf } from './consent.js';
import { erasePerson } from '../../store/erasure.js';

const erasureReceiptSchema = component(
  'ErasureReceipt',
  z.object({
    identifiers: z.array(z.string()).meta({ description: 'Every identifier erased: the one given and those linked to it.' }),
    tables: z
      .record(z.string(), z.object({ deleted: z.number().int(), redacted: z.number().int() }))
      .meta({ description: 'Rows deleted, or rewritten without the person (`redacted`), per table.' }),
    tombstones: z.number().int().meta({ description: 'Keyed hashes recorded so redelivered notifications about the person are dropped.' }),
    walTruncated: z.boolean().meta({ description: 'SQLite: false when the write-ahead log could not be emptied at once (it is at the next checkpoint).' }),
  }),
  'What an erasure removed: the receipt of `DELETE /api/contacts/{id}`.',
);

const idPath = z.strictObject({
  id: z.string().min(1).max(256).meta({ description: 'Any identifier of the user: a wa_id (with or without `+`), a business-scoped user id, or a username (with or without `@`).' }),
});

export function registerContactEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/contacts',
      operationId: 'listContacts',
      tag: 'contacts',
      summary: 'List contacts',
      description: 'WhatsApp users who wrote to the business, in the order first seen.',
      query: contactsQuery,
      response: contactPageSchema,
    },
    async ({ query }) => {
      const filter: ContactFilter = {};
      if (query.name !== undefined) filter.name = query.name;
      if (query.seenSince !== undefined) filter.seenSince = query.seenSince;
      return pageView(await ctx.store.projections.listContacts(filter, pageRequest(query, DEFAULT_LIMIT)), (c) => c);
    },
  );

  router.get(
    {
      path: '/api/contacts/{id}',
      operationId: 'getContact',
      tag: 'contacts',
      summary: 'Get one contact by any identifier',
      description:
        'Finds the contact row of the identifier and follows its links (a message naming both a wa_id and a business-scoped user id, number and user id changes) to the whole user: `identity` lists every identifier, the current ones and the merge history.',
      params: idPath,
      response: contactDetailSchema,
      notFound: true,
    },
    async ({ params }) => {
      const identity = await resolveIdentity(params.id, (key) => ctx.store.projections.getContact(key));
      if (!identity) throw notFound(`no contact "${params.id}"`);
      const row = identity.contacts.find((c) => c.waId === identity.key)!;
      const { contacts: _rows, ...summary } = identity;
      // Account state: what the user chose per category (`/api/consent`), under any of their ids.
      const consent = [];
      for (const id of [...identity.waIds, ...identity.userIds]) consent.push(...(await consentOf(ctx.store, id)));
      return consent.length > 0 ? { ...row, consent, identity: summary } : { ...row, identity: summary };
    },
  );

  router.delete(
    {
      path: '/api/contacts/{id}',
      operationId: 'eraseContact',
      tag: 'contacts',
      summary: 'Erase one person',
      description:
        'Admin only. Erases everything stored about the person any of whose identifiers is given, following the identity links: their events with their deliveries and dead letters, their items inside shared journal bodies and events (redacted in place), projections, outbound records and search documents; records a keyed hash so redelivered notifications about them are dropped. Answers with the counts per table.',
      params: idPath,
      response: erasureReceiptSchema,
    },
    async ({ params }) => erasePerson(ctx.store, params.id),
  );
}
