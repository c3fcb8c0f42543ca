/**
 * @module api/endpoints/health
 *
 * Account health: `GET /api/health` (every phone number, business account and Flow as Meta
 * last reported it, and a timeline of the latest changes, templates included) and
 * `GET /api/health/{entity}/{key}` (one of them with its kept history). Not to be confused
 * with `/healthz`, which says whether bluetick itself is up.
 */
import type { Change, TemplateRow } from '../../projections/index.js';
import { compareTime } from '../../projections/order.js';
import type { HealthKind, HealthRow } from '../../store/projections.js';
import type { Page, PageRequest } from '../../store/store.js';
import type { RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../router.js';
import { healthEntityPath, healthSchema, HEALTH_ENTITIES, MAX_LIMIT } from '../schemas.js';
import type { z } from 'zod';
import type { healthChangeSchema } from '../schemas.js';

type Entity = (typeof HEALTH_ENTITIES)[number];
type HealthChange = z.output<typeof healthChangeSchema>;

const KIND_OF: Record<Entity, HealthKind> = {
  'phone-numbers': 'phoneNumbers',
  'business-accounts': 'businessAccounts',
  flows: 'flows',
};

const ENTITY_OF: Record<HealthKind, HealthChange['entity']> = {
  phoneNumbers: 'phone-number',
  businessAccounts: 'business-account',
  flows: 'flow',
};

/** Changes the overview's timeline shows. */
export const TIMELINE_LIMIT = 100;

/** Up to {@link MAX_LIMIT} rows of a list (health entities are few: numbers, accounts, Flows). */
async function firstRows<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  return (await list({ limit: MAX_LIMIT })).items;
}

function changeView(entity: HealthChange['entity'], key: string, c: Change): HealthChange {
  const { userId: _u, phoneNumberId: _p, ...rest } = c as Change & { userId?: string; phoneNumberId?: string };
  return { entity, key, ...rest };
}

function templateChanges(row: TemplateRow): HealthChange[] {
  return row.history.map((h) => {
    const change: HealthChange = { entity: 'template', key: row.key, eventId: h.eventId, type: h.type, at: h.occurredAt ?? h.receivedAt };
    if (h.status !== undefined) change.status = h.status;
    if (h.reason !== undefined) change.reason = h.reason;
    const name = h.templateName ?? row.name;
    if (name !== undefined) change.detail = h.language ? `${name} (${h.language})` : name;
    return change;
  });
}

/** Every kept change, newest first, at most {@link TIMELINE_LIMIT}. */
function timelineOf(rows: Record<HealthKind, HealthRow[]>, templates: TemplateRow[]): HealthChange[] {
  const all: HealthChange[] = [];
  for (const kind of Object.keys(rows) as HealthKind[]) {
    for (const row of rows[kind]) for (const c of row.history) all.push(changeView(ENTITY_OF[kind], row.key, c));
  }
  for (const t of templates) all.push(...templateChanges(t));
  all.sort((a, b) => compareTime(b.at, a.at) || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0));
  return all.slice(0, TIMELINE_LIMIT);
}

export function registerHealthEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/health',
      operationId: 'getAccountHealth',
      tag: 'health',
      summary: 'Account health',
      description:
        'Phone numbers (quality, messaging limit tier, throughput, display-name review), business accounts (status, review, alerts, capabilities, security) and Flows (status, health alerts) as Meta last reported them, and the latest changes of all of them and of templates. Up to 1000 of each.',
      response: healthSchema,
    },
    async () => {
      const rows = {
        phoneNumbers: await firstRows((p) => ctx.store.projections.listHealth('phoneNumbers', p)),
        businessAccounts: await firstRows((p) => ctx.store.projections.listHealth('businessAccounts', p)),
        flows: await firstRows((p) => ctx.store.projections.listHealth('flows', p)),
      };
      const templates = await firstRows((p) => ctx.store.projections.listTemplates({}, p));
      return { ...rows, timeline: timelineOf(rows, templates) };
    },
  );

  router.get(
    {
      path: '/api/health/{entity}/{key}',
      operationId: 'getAccountHealthEntity',
      tag: 'health',
      summary: 'One phone number, business account or Flow with its recent changes',
      description: 'The answer is a PhoneNumberHealth, BusinessAccountHealth or FlowHealth, by `entity`.',
      params: healthEntityPath,
      response: healthSchema.shape.phoneNumbers.element.or(healthSchema.shape.businessAccounts.element).or(healthSchema.shape.flows.element),
      notFound: true,
    },
    async ({ params }) => {
      const row = await ctx.store.projections.getHealth(KIND_OF[params.entity], params.key);
      if (!row) throw notFound(`no ${params.entity.replace(/s$/, '').replace('-', ' ')} "${params.key}"`);
      return row;
    },
  );
}
