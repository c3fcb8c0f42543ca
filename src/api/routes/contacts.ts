/**
 * @module api/routes/contacts
 *
 * `GET /api/contacts`, `GET /api/contacts/{waId}`.
 */
import { z } from 'zod';
import type { ContactFilter } from '../../store/projections.js';
import { pageRequest, type RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../routing.js';
import { contactPageSchema, contactSchema, contactsQuery, DEFAULT_LIMIT } from '../schemas.js';
import { pageView } from '../views.js';
import { consentOf } from './consent.js';

const waIdPath = z.strictObject({ waId: z.string().min(1).max(256).meta({ description: 'The contact wa_id.' }) });

export function registerContactRoutes(router: ApiRouter, ctx: RestContext): void {
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
      return pageView(await ctx.store.listContacts(filter, pageRequest(query, DEFAULT_LIMIT)), (c) => c);
    },
  );

  router.get(
    {
      path: '/api/contacts/{waId}',
      operationId: 'getContact',
      tag: 'contacts',
      summary: 'Get one contact',
      params: waIdPath,
      response: contactSchema,
      notFound: true,
    },
    async ({ params }) => {
      const row = await ctx.store.getContact(params.waId);
      if (!row) throw notFound(`no contact "${params.waId}"`);
      // Account state: what the contact chose per category (`/api/consent`).
      const consent = await consentOf(ctx.store, row.waId);
      return consent.length > 0 ? { ...row, consent } : row;
    },
  );
}
