/**
 * Stage 2, authenticate. Staff sign-in, MFA and OAuth clients arrive with the identity issue;
 * until then the server refuses to listen beyond loopback (see config) and the caller is the
 * operator of this machine. Keeping this a stage of its own means identity replaces one function.
 */
import type { Actor } from '../fhir/context.js';

export function authenticate(): Actor {
  return { kind: 'local-operator', description: 'loopback client (no staff identity configured yet)' };
}
