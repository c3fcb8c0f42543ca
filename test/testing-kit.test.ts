/**
 * `bluetick/testing`: every notification kind builds a body in each shape it comes in, which
 * the normalizer turns into the kind's event type; signatures and Basic auth verify with the
 * ingest checks; the fake provider batches, reorders, redelivers and retries until a 2xx.
 */
import { describe, expect, it } from 'vitest';
import { normalize } from '../src/events/normalize.js';
import { verifyBasic } from '../src/ingest/verify-basic.js';
import { verifyMetaSignature } from '../src/ingest/verify-meta.js';
import { FakeProvider, NOTIFICATION_KINDS, buildWebhookBody } from '../src/testing/index.js';

describe('buildWebhookBody', () => {
  it.each(NOTIFICATION_KINDS.flatMap((k) => k.shapes.map((shape) => ({ kind: k.name, event: k.event, shape }))))(
    '$kind in the $shape shape normalizes to $event',
    ({ kind, event, shape }) => {
      const built = buildWebhookBody(kind, { shape, seed: kind });
      const result = normalize(built.body, { channel: 'test', receivedAt: 1 });
      expect(result.ok && result.events.map((e) => e.type)).toEqual([event]);
    },
  );

  it('signs the exact bytes for Meta and adds Basic auth for EnableX', () => {
    const meta = buildWebhookBody(['text', 'status-read'], { metaSecret: 'app-secret' });
    expect(verifyMetaSignature(meta.body, meta.headers['x-hub-signature-256'], ['app-secret'])).toBe('meta-signature');
    expect(verifyMetaSignature(meta.body, meta.headers['x-hub-signature-256'], ['other'])).toBeUndefined();
    const enablex = buildWebhookBody('image', { shape: 'enablex', basic: 'enablex:s3cret-password' });
    expect(verifyBasic(enablex.headers.authorization, [{ username: 'enablex', password: 's3cret-password' }])).toBe(true);
    expect(enablex.refs).toHaveLength(1);
  });

  it('gives the same bytes for the same seed and time, and refuses what a shape cannot carry', () => {
    expect(buildWebhookBody('text', { seed: 7, at: 1_700_000_000 }).body).toEqual(buildWebhookBody('text', { seed: 7, at: 1_700_000_000 }).body);
    expect(() => buildWebhookBody('no-such-kind')).toThrow(/unknown notification kind/);
    const metaOnly = NOTIFICATION_KINDS.find((k) => !k.shapes.includes('enablex'))!;
    expect(() => buildWebhookBody(metaOnly.name, { shape: 'enablex' })).toThrow(/only in the meta shape/);
  });
});

describe('FakeProvider', () => {
  it('retries a body until it is answered 2xx, and reports what it never got through', async () => {
    let calls = 0;
    const provider = new FakeProvider({
      target: () => new Response(null, { status: ++calls < 3 ? 503 : 200 }),
      retryDelaysMs: [0, 0, 0],
    });
    const report = await provider.send({ kinds: ['text'] });
    expect(report.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    expect(report.failed).toEqual([]);

    const down = new FakeProvider({ target: () => new Response(null, { status: 500 }), retryDelaysMs: [0] });
    expect((await down.send({ kinds: ['text'] })).failed).toHaveLength(1);
  });

  it('batches notifications, reorders statuses and posts some bodies again, all signed', async () => {
    const bodies: Buffer[] = [];
    const provider = new FakeProvider({
      target: async (request) => {
        const body = Buffer.from(await request.arrayBuffer());
        expect(verifyMetaSignature(body, request.headers.get('x-hub-signature-256') ?? undefined, ['s'])).toBe('meta-signature');
        bodies.push(body);
        return new Response('ok');
      },
      metaSecret: 's',
      batch: 3,
      reorder: true,
      duplicate: 1,
      seed: 'order',
    });
    const report = await provider.send({ kinds: ['status-sent', 'status-delivered', 'status-read'], count: 30 });
    expect(report.bodies.filter((b) => b.redeliveryOf !== undefined).length).toBeGreaterThan(0);
    const fresh = report.bodies.filter((b) => b.redeliveryOf === undefined);
    expect(fresh.every((b) => b.notifications.length <= 3)).toBe(true);
    const order = fresh.flatMap((b) => b.notifications.map((n) => n.kind.name));
    expect(order).toHaveLength(30);
    // Statuses of one message come out of order at least once.
    const inOrder = (i: number) => order.slice(i, i + 3).join() === 'status-sent,status-delivered,status-read';
    expect([0, 3, 6, 9, 12, 15, 18, 21, 24, 27].every(inOrder)).toBe(false);
    expect(bodies).toHaveLength(report.bodies.length);
  });
});
