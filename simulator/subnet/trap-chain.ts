/**
 * icsim's trap reports: when an execution fails, the chain of messages that
 * led to it, found by walking call contexts back to their origin (a call
 * context answers a canister's callback, which belongs to that canister's
 * call context, and so on up to an ingress message or a system task). The
 * report is kept on the ingress message at the root, so that its result
 * carries it (`IngressRecord.traps`, `CallResult.traps`).
 */
import type { CallContext, CanisterState } from '../canister/state.ts';
import { backtraceForLog, toUserError, type HypervisorError } from '../execution/trap.ts';
import type { MessageLink, TrapReport } from '../result.ts';
import type { IngressRecord } from './ingress.ts';
import type { Replica } from './replica.ts';

/** The chain of messages from its root to call context `cc` of `canister`, and the ingress message at the root, if any. */
export function messageChain(
  replica: Replica,
  canister: CanisterState,
  cc: CallContext,
): { chain: MessageLink[]; root?: IngressRecord } {
  const chain: MessageLink[] = [];
  let callee = canister;
  let context: CallContext | undefined = cc;
  // A chain is as long as the call tree is deep; the bound only guards against a cycle.
  for (let depth = 0; context && depth < 10_000; depth++) {
    const method = context.method ?? '';
    const origin = context.origin;
    if (origin.kind === 'system') {
      chain.unshift({ kind: 'system', caller: '', callee: callee.idText, method });
      return { chain };
    }
    if (origin.kind === 'ingress') {
      const record = replica.ingress.get(origin.messageId);
      chain.unshift({
        kind: 'ingress',
        caller: record?.sender.toText() ?? '',
        callee: callee.idText,
        method,
      });
      return { chain, root: record };
    }
    chain.unshift({ kind: 'call', caller: origin.caller.toText(), callee: callee.idText, method });
    const caller = replica.findCanister(origin.caller);
    const callback = caller?.callbacks.get(origin.callbackId);
    if (!caller || !callback) break;
    callee = caller;
    context = caller.callContexts.get(callback.callContextId);
  }
  return { chain };
}

/** `ingress <sender> → <A>.<m1> → <B>.<m2> (<entry>)`. */
export function renderChain(chain: readonly MessageLink[], entry: string): string {
  const steps: string[] = [];
  for (const [i, link] of chain.entries()) {
    if (i === 0) steps.push(link.kind === 'ingress' ? `ingress ${link.caller}` : link.kind);
    steps.push(`${link.callee}.${link.method}`);
  }
  return `${steps.join(' → ')} (${entry})`;
}

/**
 * Records a failed execution of `canister` in call context `cc` on the
 * ingress message at the root of its call tree; nothing when there is none
 * (a heartbeat or timer: the canister log has the error).
 */
export function reportTrap(
  replica: Replica,
  canister: CanisterState,
  cc: CallContext,
  entry: string,
  error: HypervisorError,
): void {
  const { chain, root } = messageChain(replica, canister, cc);
  if (!root) return;
  const shown = backtraceForLog(error);
  const backtrace =
    (shown.kind === 'Trapped' || shown.kind === 'CalledTrap') && shown.backtrace
      ? shown.backtrace.map((f) => f.name ?? `unknown function at index ${f.index}`)
      : undefined;
  const report: TrapReport = {
    canister: canister.idText,
    entry,
    message: toUserError(shown, canister.idText).message,
    ...(backtrace ? { backtrace } : {}),
    chain,
    path: renderChain(chain, entry),
  };
  (root.traps ??= []).push(report);
}

/** What an execution of kind `kind` in `cc` ran, as a trap report names it. */
export function entryName(kind: string, cc: CallContext): string {
  switch (kind) {
    case 'U':
      return `update ${cc.method ?? ''}`;
    case 'RQ':
      return `query ${cc.method ?? ''}`;
    case 'Ry':
      return 'reply callback';
    case 'Rt':
      return 'reject callback';
    case 'C':
      return 'cleanup';
    default:
      return cc.method ?? kind;
  }
}
