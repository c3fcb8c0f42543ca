/**
 * Who is signed in (`GET /api/whoami`) and what that role may do. Set once per sign-in,
 * before any screen renders, so screens read it synchronously and hide actions the role
 * cannot take (the server refuses them anyway; hiding only spares a useless button).
 */

export interface Capabilities {
  read: boolean;
  operate: boolean;
  admin: boolean;
  send: boolean;
  audit: boolean;
}

export interface Whoami {
  name: string;
  role: 'admin' | 'operator' | 'viewer' | 'sender';
  maskText: boolean;
  can: Capabilities;
}

/** A server without `/api/whoami` knows only the admin token. */
const ADMIN: Whoami = { name: 'admin-token', role: 'admin', maskText: false, can: { read: true, operate: true, admin: true, send: true, audit: true } };

let current: Whoami = ADMIN;

export function setWhoami(who: Whoami | undefined): void {
  current = who ?? ADMIN;
}

export function whoami(): Whoami {
  return current;
}

export function can(): Capabilities {
  return current.can;
}
