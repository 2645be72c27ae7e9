// Runs in a fresh project that installed the icsim tarball: the in-process API, no server.
// Prints the counter after two updates and one query, as JSON.
import { readFileSync } from 'node:fs';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { Instance } from 'icsim';

const sender = Principal.anonymous();
const ic = Instance.create({ subnets: [{ kind: 'Application' }] });

function update(canisterId, method, arg) {
  const sent = ic.submitIngress({ sender, canisterId, method, arg, effectivePrincipal: { kind: 'none' } });
  if (sent.status === 'rejected') throw new Error(sent.message);
  const outcome = ic.awaitIngress(sent.messageId, sent.effectivePrincipal);
  if (outcome.status !== 'replied') throw new Error(`${method}: ${outcome.message}`);
  return outcome.reply;
}

const management = Principal.managementCanister();
const created = update(
  management,
  'provisional_create_canister_with_cycles',
  IDL.encode(
    [
      IDL.Record({
        amount: IDL.Opt(IDL.Nat),
        settings: IDL.Opt(IDL.Null),
        specified_id: IDL.Opt(IDL.Principal),
      }),
    ],
    [{ amount: [], settings: [], specified_id: [] }],
  ),
);
const [{ canister_id: canisterId }] = IDL.decode([IDL.Record({ canister_id: IDL.Principal })], created);
const mode = IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Opt(IDL.Null) });
update(
  management,
  'install_code',
  IDL.encode(
    [
      IDL.Record({
        mode,
        canister_id: IDL.Principal,
        wasm_module: IDL.Vec(IDL.Nat8),
        arg: IDL.Vec(IDL.Nat8),
      }),
    ],
    [
      {
        mode: { install: null },
        canister_id: canisterId,
        wasm_module: readFileSync(process.env.SCRATCH_WASM),
        arg: [],
      },
    ],
  ),
);
const empty = IDL.encode([], []);
update(canisterId, 'inc', empty);
update(canisterId, 'inc', empty);
const read = ic.query({
  sender,
  canisterId,
  method: 'get',
  arg: empty,
  effectivePrincipal: { kind: 'none' },
});
if (read.status !== 'replied') throw new Error(read.message);
const [count] = IDL.decode([IDL.Nat64], read.reply);
console.log(JSON.stringify({ canisterId: canisterId.toText(), count: Number(count), node: process.version }));
ic.delete();
