import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../events/types.js';
import { documentsOf, foldText, queryTerms } from './documents.js';

const base = { id: 'evt_1', provider: 'meta', channel: 'main', receivedAt: '2026-12-03T06:00:00.000Z' };

describe('search documents', () => {
  it('folds ids and numbers into words both sides agree on', () => {
    expect(foldText(['wamid.HBgLMTIz==', '+91 98123-45678', 'Ánita'])).toBe('wamid hbglmtiz 91 98123 45678 ánita');
    expect(queryTerms('  Anita  +9198 ')).toEqual(['anita', '9198']);
    expect(queryTerms('...')).toEqual([]);
  });

  it('makes a message and a contact of an inbound message, replacing what a status created', () => {
    const docs = documentsOf({ ...base, type: 'message.received', messageId: 'wamid.A', from: '919812345678', contactName: 'Anita Rao', text: 'Where is my order?' } as unknown as BluetickEvent);
    expect(docs.map((d) => [d.kind, d.ref, d.mode])).toEqual([
      ['message', 'wamid.A', 'replace'],
      ['contact', '919812345678', 'replace'],
    ]);
    expect(docs[0]!.body).toBe('where is my order anita rao 919812345678 wamid a');
  });

  it('only creates from a status update, so it never erases a text', () => {
    const docs = documentsOf({ ...base, type: 'message.status', messageId: 'wamid.B', recipientId: '4477', status: 'read' } as unknown as BluetickEvent);
    expect(docs.every((d) => d.mode === 'keep')).toBe(true);
  });

  it('names templates by name and language', () => {
    const [doc] = documentsOf({ ...base, type: 'template.status', templateName: 'order_shipped', language: 'en', templateId: '123' } as unknown as BluetickEvent);
    expect(doc).toMatchObject({ kind: 'template', ref: '123', title: 'order_shipped (en)', body: 'order shipped 123 en' });
  });
});
