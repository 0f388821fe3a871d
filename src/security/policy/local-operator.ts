import type { AccessDecision, AccessPolicy } from '../../fhir/guard.js';

/**
 * The policy until the access-control slice of issue 5 (role x interaction x care relationship x
 * labels x break-glass) lands:
 * - the operator on this machine (loopback, no proxy) and system jobs they start: everything;
 * - a signed-in hospital administrator: account administration ('admin-users') and nothing else;
 * - anyone: the CapabilityStatement;
 * - every other actor and interaction: denied. Signed-in staff therefore reach no clinical data
 *   until the role policy exists: identity wired before its policy fails closed.
 */
export const localOperatorPolicy: AccessPolicy = {
  decide(ctx, req): AccessDecision {
    const actor = ctx.actor;
    if (actor.kind === 'local-operator' || actor.kind === 'system') {
      return { allowed: true, rule: 'local-operator' };
    }
    if (req.interaction === 'capabilities') return { allowed: true, rule: 'public-capabilities' };
    if (actor.kind === 'user' && req.interaction === 'admin-users' && actor.roles.includes('hospital-admin')) {
      return { allowed: true, rule: 'account-admin' };
    }
    return { allowed: false, rule: 'default-deny', reason: 'no policy grants this actor access' };
  },
};
