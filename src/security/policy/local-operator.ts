import type { AccessDecision, AccessPolicy } from '../../fhir/guard.js';

/**
 * The policy while staff identity does not yet exist: the only actor is the operator on this
 * machine (the server refuses to listen beyond loopback) or a system job started by them. Any
 * other actor is denied, so a future identity that is wired before its policy fails closed.
 */
export const localOperatorPolicy: AccessPolicy = {
  decide(ctx): AccessDecision {
    if (ctx.actor.kind === 'local-operator' || ctx.actor.kind === 'system') {
      return { allowed: true, rule: 'local-operator' };
    }
    return { allowed: false, rule: 'default-deny', reason: 'no policy grants this actor access' };
  },
};
