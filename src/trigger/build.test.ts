/**
 * The trigger's builders against the real normalizer: every kind, in both shapes, alone
 * and batched, becomes exactly the event it names, with ids no other build shares.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonText } from '../events/json.js';
import { normalize } from '../events/normalize.js';
import type { BluetickEvent } from '../events/types.js';
import { signMeta, verifyMetaSignature } from '../ingest/verify-meta.js';
import { DEFAULT_ACCOUNTS, buildBody, buildNotification, encodeBody, newCustomer, wamid, type BuildContext, type Notification } from './build.js';
import { TRIGGER_KINDS, TRIGGER_SHAPES, findKind, kindSupports, type TriggerKind, type TriggerShape } from './kinds.js';
import { planPosts, resolveKinds, type PlannedPost } from './plan.js';
import { createRng } from './rng.js';
import { postHeaders } from './send.js';

const AT = 1_717_171_717;
const CTX = { channel: 'trigger', receivedAt: 1_700_000_000_000 };

function context(shape: TriggerShape, seed: string | number = 1): BuildContext {
  return { rng: createRng(seed), shape, account: DEFAULT_ACCOUNTS[shape] };
}

function eventsOf(body: Buffer): BluetickEvent[] {
  const result = normalize(body, CTX);
  if (!result.ok) throw new Error(`did not normalize: ${result.cause}`);
  return result.events;
}

/** The event a notification of this kind must become. */
function expectMatches(event: BluetickEvent, kind: TriggerKind, n: Notification): void {
  expect(event.type, kind.name).toBe(kind.event);
  expect(event.provider).toBe(n.shape);
  switch (event.type) {
    case 'message.received':
      expect(event.kind).toBe(kind.detail);
      expect(event.messageId).toBe(n.ref);
      expect(event.from).toMatch(/^\d{10,15}$/);
      break;
    case 'message.reaction':
      expect(event.messageId).toBe(n.ref);
      if (kind.detail !== undefined) expect(event.emoji).toBe(kind.detail);
      else expect(event.emoji.length).toBeGreaterThan(0);
      expect(event.targetMessageId).toBeTruthy();
      break;
    case 'message.status':
      expect(event.status).toBe(kind.detail);
      expect(event.messageId).toBe(n.ref);
      if (kind.detail === 'failed') expect(event.errorCodes?.length).toBe(1);
      break;
    case 'template.status':
      expect(event.status).toBe(kind.detail);
      expect(event.templateId).toBe(n.ref);
      break;
    case 'template.quality':
    case 'template.category':
      expect(event.templateId).toBe(n.ref);
      expect(event.status).toMatch(/^[A-Z]+$/);
      break;
    case 'unknown':
      break;
    default:
      // Meta's other fields: the event names the field the kind was sent in.
      expect(event.field, kind.name).toBe(kind.field);
      if (kind.detail !== undefined) expect('status' in event ? event.status : undefined).toBe(kind.detail);
  }
  expect(event.occurredAt ?? new Date(AT * 1000).toISOString()).toBe(new Date(AT * 1000).toISOString());
}

describe('trigger builders', () => {
  for (const shape of TRIGGER_SHAPES) {
    for (const kind of TRIGGER_KINDS.filter((k) => kindSupports(k, shape))) {
      it(`builds ${kind.name} in the ${shape} shape as one ${kind.event} event`, () => {
        const ctx = context(shape, `${shape}/${kind.name}`);
        const n = buildNotification(kind, ctx, { at: AT });
        const body = encodeBody(buildBody([n], shape, ctx.account), shape);
        const events = eventsOf(body);
        expect(events).toHaveLength(1);
        expectMatches(events[0]!, kind, n);
        // The body has the shape it claims: the envelope for Meta, the flat body for EnableX.
        const parsed = parseJsonText(body.toString('utf8')) as Record<string, unknown>;
        if (shape === 'meta') expect(parsed.object).toBe('whatsapp_business_account');
        // EnableX has no field names: an unmodelled notification is a body of neither shape.
        else if (kind.event !== 'unknown') expect(parsed.business_phone).toBe(DEFAULT_ACCOUNTS.enablex.displayPhoneNumber);
      });
    }
  }

  it('sends an ad customer with its click id, and a BSUID change the projections can follow', () => {
    for (const shape of TRIGGER_SHAPES) {
      const ctx = context(shape, `ad-${shape}`);
      const [ad] = eventsOf(encodeBody(buildBody([buildNotification('ad-referral', ctx, { at: AT })], shape, ctx.account), shape));
      expect(ad).toMatchObject({ type: 'message.received', referralSourceType: 'ad' });
      expect((ad as Extract<BluetickEvent, { type: 'message.received' }>).ctwaClid).toMatch(/^AR/);
    }
    const ctx = context('meta', 'bsuid-change');
    const [change] = eventsOf(encodeBody(buildBody([buildNotification('user-id-system', ctx, { at: AT })], 'meta', ctx.account), 'meta'));
    const system = (change!.data as { system: { type: string; previous_user_id: string; user_id: string } }).system;
    expect(system.type).toBe('user_changed_user_id');
    expect(system.previous_user_id).not.toBe(system.user_id);
  });

  it('packs every kind into one POST per shape and gets one event per notification, in kind order per family', () => {
    for (const shape of TRIGGER_SHAPES) {
      const ctx = context(shape, `all-${shape}`);
      const notifications = TRIGGER_KINDS.filter((k) => kindSupports(k, shape)).map((k) => buildNotification(k, ctx, { at: AT }));
      const shared = notifications.filter((n) => n.part.place !== 'body');
      const events = eventsOf(encodeBody(buildBody(shared, shape, ctx.account), shape));
      expect(events).toHaveLength(shared.length);
      const want = shared.map((n) => n.kind.event).sort();
      expect(events.map((e) => e.type).sort()).toEqual(want);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    }
  });

  it('writes Meta bodies with non-ASCII characters escaped, so the signature holds over the bytes as sent', () => {
    const ctx = context('meta', 'escapes');
    // Enough texts and names that some are not ASCII.
    const notifications = Array.from({ length: 40 }, () => buildNotification('text', ctx, { at: AT }));
    const body = encodeBody(buildBody(notifications, 'meta', ctx.account), 'meta');
    expect(body.every((b) => b < 0x80)).toBe(true);
    expect(body.toString()).toMatch(/\\u[0-9a-f]{4}/);
    const headers = postHeaders(body, { metaSecret: 'app-secret', basic: 'enablex:s3cret' });
    expect(verifyMetaSignature(body, headers['x-hub-signature-256'], ['app-secret'])).toBe('meta-signature');
    expect(headers['x-hub-signature-256']).toBe(signMeta(body, 'app-secret'));
    expect(headers.authorization).toBe(`Basic ${Buffer.from('enablex:s3cret').toString('base64')}`);
  });

  it('lays out wamids like Meta does: the counterpart number, the direction, random hex', () => {
    const rng = createRng(7);
    const inbound = Buffer.from(wamid(rng, '16315551181', true).slice('wamid.'.length), 'base64').toString('latin1');
    expect(inbound).toMatch(/^\x1c\x18\x0b16315551181\x15\x02\x00\x12\x18\x14[0-9A-F]{20}\x00$/);
    const outbound = Buffer.from(wamid(rng, '16315551181', false).slice('wamid.'.length), 'base64').toString('latin1');
    expect(outbound).toMatch(/^\x1c\x18\x0b16315551181\x15\x02\x00\x11\x18\x12[0-9A-F]{18}\x00$/);
  });

  it('is deterministic for a seed and different across seeds', () => {
    const a = encodeBody(buildBody([buildNotification('order', context('meta', 's'), { at: AT })], 'meta', DEFAULT_ACCOUNTS.meta), 'meta');
    const b = encodeBody(buildBody([buildNotification('order', context('meta', 's'), { at: AT })], 'meta', DEFAULT_ACCOUNTS.meta), 'meta');
    const c = encodeBody(buildBody([buildNotification('order', context('meta', 't'), { at: AT })], 'meta', DEFAULT_ACCOUNTS.meta), 'meta');
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    expect(newCustomer(createRng(3))).toEqual(newCustomer(createRng(3)));
  });

  it('accepts kind names as users type them', () => {
    expect(findKind('request_welcome')?.name).toBe('request-welcome');
    expect(findKind('Status.Read')?.name).toBe('status-read');
    expect(findKind('nope')).toBeUndefined();
    expect(findKind('account.alert')?.name).toBe('account-alert');
    expect(findKind('account-alert')).toMatchObject({ event: 'account.alert', field: 'account_alerts', shapes: ['meta'] });
    expect(() => buildNotification('account-alert', context('enablex'), { at: AT })).toThrow(/only in the meta shape/);
    const { kinds, unknown } = resolveKinds(['all', 'text', 'bogus'], TRIGGER_KINDS);
    expect(kinds).toHaveLength(TRIGGER_KINDS.length + 1);
    expect(unknown).toEqual(['bogus']);
  });
});

function allEvents(posts: PlannedPost[]): BluetickEvent[] {
  return posts.flatMap((p) => eventsOf(p.body));
}

describe('trigger plans', () => {
  it('sends count notifications batch to a POST, each id unique across thousands', () => {
    const posts = [
      ...planPosts({ kinds: TRIGGER_KINDS, shape: 'meta', account: DEFAULT_ACCOUNTS.meta, count: 1500, batch: 7, clock: () => AT }, createRng('many')),
    ];
    expect(posts.reduce((n, p) => n + p.notifications.length, 0)).toBe(1500);
    expect(posts.every((p) => p.notifications.length <= 7)).toBe(true);
    const events = allEvents(posts);
    expect(events).toHaveLength(1500);
    expect(new Set(events.map((e) => e.id)).size).toBe(1500);
    expect(new Set(posts.map((p) => p.body.toString())).size).toBe(posts.length);
  });

  it('keeps an EnableX unmodelled-field notification in a POST of its own', () => {
    const posts = [
      ...planPosts({ kinds: resolveKinds(['text', 'unknown-field', 'status-read'], TRIGGER_KINDS).kinds, shape: 'enablex', account: DEFAULT_ACCOUNTS.enablex, count: 9, batch: 5, clock: () => AT }, createRng(2)),
    ];
    for (const post of posts) {
      if (post.notifications.some((n) => n.kind.name === 'unknown-field')) expect(post.notifications).toHaveLength(1);
    }
    expect(allEvents(posts).map((e) => e.type).sort()).toEqual([...Array(3).fill('message.received'), ...Array(3).fill('message.status'), ...Array(3).fill('unknown')].sort());
  });

  it('redelivers a fraction of POSTs byte for byte, later in the run', () => {
    const posts = [
      ...planPosts({ kinds: [findKind('text')!], shape: 'meta', account: DEFAULT_ACCOUNTS.meta, count: 400, duplicate: 0.25, clock: () => AT }, createRng('dup')),
    ];
    const copies = posts.filter((p) => p.redeliveryOf !== undefined);
    expect(copies.length).toBeGreaterThan(50);
    expect(copies.length).toBeLessThan(150);
    for (const copy of copies) {
      const original = posts.find((p) => p.n === copy.redeliveryOf)!;
      expect(copy.body.equals(original.body)).toBe(true);
      expect(copy.n).toBeGreaterThan(original.n);
    }
    expect(posts.map((p) => p.n)).toEqual(posts.map((_, i) => i + 1));
    // Redeliveries add POSTs, not events.
    expect(new Set(allEvents(posts).map((e) => e.id)).size).toBe(400);
  });

  it('shares one business message across the statuses of a cycle, and --reorder delivers them out of order', () => {
    const kinds = resolveKinds(['status-sent', 'status-delivered', 'status-read'], TRIGGER_KINDS).kinds;
    const plan = (reorder: boolean): BluetickEvent[] =>
      allEvents([...planPosts({ kinds, shape: 'meta', account: DEFAULT_ACCOUNTS.meta, count: 30, reorder, clock: () => AT }, createRng('order'))]);
    const rank = (e: BluetickEvent): number => ['sent', 'delivered', 'read'].indexOf((e as { status: string }).status);
    const inOrder = plan(false);
    const reordered = plan(true);
    for (const events of [inOrder, reordered]) {
      for (let i = 0; i < events.length; i += 3) expect(new Set(events.slice(i, i + 3).map((e) => (e as { messageId?: string }).messageId)).size).toBe(1);
    }
    const sortedCycles = (events: BluetickEvent[]): number =>
      Array.from({ length: events.length / 3 }, (_, c) => events.slice(c * 3, c * 3 + 3).map(rank)).filter((r) => r.join() === '0,1,2').length;
    expect(sortedCycles(inOrder)).toBe(10);
    expect(sortedCycles(reordered)).toBe(0);
  });

  it('plays conversations: inbound message, sent/delivered/read for the reply, sometimes a reaction or an answer', () => {
    for (const shape of TRIGGER_SHAPES) {
      const posts = [...planPosts({ kinds: [], conversation: true, shape, account: DEFAULT_ACCOUNTS[shape], count: 40, reorder: true, clock: () => AT }, createRng(`conv-${shape}`))];
      const events = allEvents(posts);
      const statuses = events.filter((e) => e.type === 'message.status');
      expect(statuses).toHaveLength(120);
      const reactions = events.filter((e) => e.type === 'message.reaction');
      expect(reactions.length).toBeGreaterThan(5);
      const outbound = new Set(statuses.map((e) => e.messageId));
      expect(outbound.size).toBe(40);
      for (const r of reactions) expect(outbound.has(r.type === 'message.reaction' ? r.targetMessageId : '')).toBe(true);
      expect(events.filter((e) => e.type === 'message.received').length).toBeGreaterThanOrEqual(40);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    }
  });
});

describe('trigger builders, generated', () => {
  it('turn any list of kinds, in any shape and batch size, into exactly one event of the named type per notification', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...TRIGGER_KINDS), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...TRIGGER_SHAPES),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.string({ maxLength: 12 }),
        fc.boolean(),
        (drawn, shape, batch, count, seed, reorder) => {
          const kinds = drawn.filter((k) => kindSupports(k, shape));
          fc.pre(kinds.length > 0);
          const posts = [...planPosts({ kinds, shape, account: DEFAULT_ACCOUNTS[shape], count, batch, reorder, clock: () => AT }, createRng(seed))];
          const notifications = posts.flatMap((p) => p.notifications);
          expect(notifications).toHaveLength(count);
          const events = allEvents(posts);
          expect(events.map((e) => e.type).sort()).toEqual(notifications.map((n) => n.kind.event).sort());
          expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
