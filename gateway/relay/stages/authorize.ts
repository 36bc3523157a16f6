/**
 * Authorization: once routing knows the server and what the call names there, the policy decides
 * whether the call's principal may use it. A refusal names the rule; a missing scope is named so
 * that the client can step up. Every refusal is logged with the principal and the rule, never the
 * arguments; allowed calls carry the principal on their call line (count stage) instead. The
 * policy is asked per call, not when the chain is built: a config reload replaces its rules.
 */
import { insufficientScope } from '../../auth/authenticator';
import { targetOf, type Policy } from '../../auth/policy';
import { FleetError } from '../../protocol/errors';
import { required, type Stage } from '../context';

export function authorizeStage(policy: Policy): Stage {
  return (call, next) => {
    if (policy.open) return next(call);
    const server = required(call.group, 'the server').name;
    const target = targetOf(server, required(call.want, 'what the call names'));
    if (!target) return next(call);
    const principal = call.client.principal;
    const decision = policy.decide(principal, target);
    if (decision.allowed && !decision.missingScopes) return next(call);
    call.log.info(
      { principal: principal.id, rule: decision.rule, server, [target.kind]: target.name, method: call.request.method },
      'policy refused a request',
    );
    if (decision.allowed) throw insufficientScope(decision.missingScopes!);
    throw new FleetError(
      'FORBIDDEN',
      `${target.kind} "${target.name}" of server "${server}" is not allowed for ${principal.id} (policy rule "${decision.rule}")`,
      {
        data: { rule: decision.rule },
      },
    );
  };
}
