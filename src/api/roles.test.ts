import { describe, expect, it } from 'vitest';
import { permits } from './roles.js';

describe('permits', () => {
  it('lets an admin do anything, including calls added later', () => {
    expect(permits('admin', 'DELETE', '/api/contacts/:id')).toBe(true);
    expect(permits('admin', 'POST', '/api/tokens')).toBe(true);
  });

  it('lets an operator read, redrive, replay and probe, but not manage tokens or erase', () => {
    expect(permits('operator', 'GET', '/api/events')).toBe(true);
    expect(permits('operator', 'GET', '/api/audit')).toBe(true);
    expect(permits('operator', 'POST', '/api/dead-letters/redrive')).toBe(true);
    expect(permits('operator', 'DELETE', '/api/dead-letters/:id')).toBe(true);
    expect(permits('operator', 'POST', '/api/replay')).toBe(true);
    expect(permits('operator', 'POST', '/api/sinks/:name/probe')).toBe(true);
    expect(permits('operator', 'GET', '/api/tokens')).toBe(false);
    expect(permits('operator', 'POST', '/api/tokens')).toBe(false);
    expect(permits('operator', 'DELETE', '/api/contacts/:id')).toBe(false);
    expect(permits('operator', 'POST', '/api/outbound')).toBe(false);
    // A prefix is a path segment, not a string prefix.
    expect(permits('operator', 'POST', '/api/replayed-things')).toBe(false);
  });

  it('lets a viewer read everything but tokens and the audit log, and change nothing', () => {
    expect(permits('viewer', 'GET', '/api/messages/:id')).toBe(true);
    expect(permits('viewer', 'HEAD', '/api/events')).toBe(true);
    expect(permits('viewer', 'GET', '/api/audit')).toBe(false);
    expect(permits('viewer', 'GET', '/api/tokens')).toBe(false);
    expect(permits('viewer', 'POST', '/api/dead-letters/redrive')).toBe(false);
    expect(permits('viewer', 'POST', '/api/replay')).toBe(false);
  });

  it('lets a sender record what was sent and ask who it is, nothing else', () => {
    expect(permits('sender', 'POST', '/api/outbound')).toBe(true);
    expect(permits('sender', 'GET', '/api/whoami')).toBe(true);
    expect(permits('sender', 'GET', '/api/events')).toBe(false);
    expect(permits('sender', 'POST', '/api/replay')).toBe(false);
  });
});
