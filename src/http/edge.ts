/**
 * Stage 1, the edge: who is on the other end of the socket and through which proxies. The full
 * X-Forwarded-For / Forwarded chain is kept as received (investigators need every hop); only
 * proxies the operator trusts are discounted when naming the client address.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Provenance } from '../fhir/context.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Keeps a caller's X-Request-Id if it is well-formed (for end-to-end tracing), else makes one. */
export function requestId(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function forwardedChain(headers: IncomingHttpHeaders): string[] {
  const chain: string[] = [];
  const fwd = headers.forwarded;
  if (typeof fwd === 'string') {
    for (const part of fwd.split(',')) {
      const m = /(?:^|;)\s*for=("?)\[?([^";\]]+)\]?\1/i.exec(part);
      if (m?.[2]) chain.push(m[2].trim());
    }
  }
  const xff = headers['x-forwarded-for'];
  const values = Array.isArray(xff) ? xff : typeof xff === 'string' ? [xff] : [];
  for (const v of values) for (const a of v.split(',')) if (a.trim()) chain.push(a.trim());
  return chain;
}

export function provenance(peerAddress: string, clientAddress: string, headers: IncomingHttpHeaders): Provenance {
  const ua = headers['user-agent'];
  return {
    peerAddress,
    clientAddress,
    forwardedChain: forwardedChain(headers),
    ...(typeof ua === 'string' ? { userAgent: ua.slice(0, 512) } : {}),
  };
}
