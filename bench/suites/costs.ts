/**
 * What an upload costs on mainnet, from icsim's metering and fee model:
 * instructions per byte of `put_chunk` and `finish_upload`, cycles per GB
 * uploaded and stored (the `Normal` cost schedule of a 13-node application
 * subnet), the cycles the simulator charged in the same run against that
 * model, and the throughput one canister could reach under the IC's per-round
 * limits (`bench/mainnet.ts`). `bench/README.md` explains each figure.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { buildUploadCanister } from '../../canister/build.ts';
import { LIMITS } from '../../canister/src/limits.ts';
import { idlFactory } from '../../canister/declarations/upload.did.ts';
import { encodeInitArg } from '../../canister/testing/sim-actor.ts';
import { payload } from '../../fixtures/payload.ts';
import { Fees } from '../../simulator/cycles/fees.ts';
import { invoke } from '../../simulator/execution/executor.ts';
import { newMessageContext } from '../../simulator/execution/message.ts';
import { replicaOf } from '../../simulator/instance.ts';
import { ingressMessageBytes } from '../../simulator/subnet/ingress.ts';
import { Harness, replyOf } from '../../simulator/testing/harness.ts';
import { MAINNET, projectUpload } from '../mainnet.ts';
import type { Results } from '../measure.ts';

const CHUNK = LIMITS.MAX_CHUNK_SIZE;
/** The second, shorter chunk: two sizes give the fixed and the per-byte part of a put_chunk. */
const TAIL = 475_000;
const GB = 1e9;
const MONTH_SECONDS = 30n * 86_400n;
const T = 1e12;

const service = idlFactory({ IDL }) as IDL.ServiceClass;
const func = (name: string): IDL.FuncClass => {
  const f = service._fields.find(([n]) => n === name);
  if (!f) throw new Error(`the upload canister has no method ${name}`);
  return f[1];
};
const BEGIN = func('begin_upload');
const PUT = func('put_chunk');
const FINISH = func('finish_upload');

type Call = { method: string; arg: Uint8Array };

/** The four messages of a two-chunk upload of `data` (CHUNK + TAIL bytes), given the session id once known. */
function beginCall(data: Uint8Array): Call {
  const args = [
    { name: 'f', size: BigInt(data.length), chunk_size: CHUNK, content_type: '', expected_sha256: [] },
  ];
  return { method: 'begin_upload', arg: new Uint8Array(IDL.encode(BEGIN.argTypes, args)) };
}
function putCall(session: Uint8Array, index: number, bytes: Uint8Array): Call {
  return { method: 'put_chunk', arg: new Uint8Array(IDL.encode(PUT.argTypes, [session, index, bytes])) };
}
function finishCall(session: Uint8Array, data: Uint8Array): Call {
  return {
    method: 'finish_upload',
    arg: new Uint8Array(IDL.encode(FINISH.argTypes, [session, sha256(data)])),
  };
}
function sessionOf(reply: Uint8Array): Uint8Array {
  const [result] = IDL.decode(BEGIN.retTypes, reply) as unknown as [{ Ok?: Uint8Array; Err?: unknown }];
  if (!result.Ok) throw new Error(`begin_upload failed: ${JSON.stringify(result.Err)}`);
  return new Uint8Array(result.Ok);
}

/** Runs the upload's messages on the canister's instance, bare, reading icsim's instruction counter. */
function meteredUpload(h: Harness, id: Principal, caller: Principal, data: Uint8Array): bigint[] {
  const canister = replicaOf(h.ic).findCanister(id)!;
  const run = (call: Call): { reply: Uint8Array; instructions: bigint } => {
    const ctx = newMessageContext({
      kind: 'U',
      time: replicaOf(h.ic).roundTime,
      globalTimer: canister.globalTimer,
      caller: caller.toUint8Array(),
      arg: call.arg,
    });
    const error = invoke(canister.runtime!, ctx, { kind: 'export', name: `canister_update ${call.method}` });
    if (error || ctx.response?.status !== 'replied')
      throw new Error(`${call.method} failed: ${JSON.stringify(error ?? ctx.response)}`);
    return { reply: ctx.response.reply, instructions: ctx.instructionsUsed };
  };
  const begin = run(beginCall(data));
  const session = sessionOf(begin.reply);
  const full = run(putCall(session, 0, data.subarray(0, CHUNK)));
  const tail = run(putCall(session, 1, data.subarray(CHUNK)));
  const finish = run(finishCall(session, data));
  return [begin.instructions, full.instructions, tail.instructions, finish.instructions];
}

/** The same upload as ingress through the instance (Normal schedule): the cycles each message was charged. */
function chargedUpload(
  h: Harness,
  id: Principal,
  caller: Principal,
  data: Uint8Array,
): { calls: Call[]; charged: bigint[] } {
  const calls: Call[] = [];
  const charged: bigint[] = [];
  const send = (call: Call): Uint8Array => {
    const before = h.ic.getCycles(id);
    const reply = replyOf(h.update(id, call.method, call.arg, caller));
    charged.push(before - h.ic.getCycles(id));
    calls.push(call);
    return reply;
  };
  const session = sessionOf(send(beginCall(data)));
  send(putCall(session, 0, data.subarray(0, CHUNK)));
  send(putCall(session, 1, data.subarray(CHUNK)));
  send(finishCall(session, data));
  return { calls, charged };
}

export async function costsSuite(results: Results): Promise<void> {
  const { wasm } = await buildUploadCanister();
  const h = new Harness();
  const caller = Principal.fromUint8Array(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  const data = payload(CHUNK + TAIL, 31);
  // One canister runs the messages bare (instruction counter), another takes them as ingress
  // (balance): a bare execution is not committed, so the two must not share state.
  const [beginI, fullI, tailI, finishI] = meteredUpload(h, h.deploy(wasm, encodeInitArg()), caller, data);
  const charging = h.deploy(wasm, encodeInitArg());
  // The timer the canister arms at install runs in the next round (about 20 M cycles): let it
  // run before the upload, so that the balance measures the upload's messages alone.
  h.ic.tick();
  const { calls, charged } = chargedUpload(h, charging, caller, data);

  const perByte = Number(fullI - tailI) / (CHUNK - TAIL);
  const fixed = Number(fullI) - perByte * CHUNK;
  const instructions = (bytes: number): number => fixed + perByte * bytes;
  results['costs.put_chunk.instructions_per_byte'] = {
    value: Number(fullI) / CHUNK,
    unit: 'instr/B',
    note: `a ${CHUNK / 1e6} MB put_chunk (${(Number(fullI) / 1e9).toFixed(2)} B instructions) ÷ its bytes; icsim's metering`,
  };
  results['costs.put_chunk.marginal_instructions_per_byte'] = {
    value: perByte,
    unit: 'instr/B',
    note: `between a ${TAIL / 1e3} kB and a ${CHUNK / 1e6} MB chunk (QuickJS SHA-256 and the copies); fixed part ${(fixed / 1e6).toFixed(1)} M`,
  };
  results['costs.finish_upload.instructions'] = {
    value: Number(finishI) / 1e6,
    unit: 'M instr',
    note: 'pads and closes the rolling SHA-256, writes the blob record',
  };
  results['costs.finish_upload.instructions_per_byte'] = {
    value: Number(finishI) / data.length,
    unit: 'instr/B',
    note: `over the ${(data.length / 1e6).toFixed(3)} MB file; fixed per file, so less per byte on larger files`,
  };

  // The fee model (simulator/cycles/fees.ts, after the replica's cycles account manager).
  const fees = Fees.forSubnet('Application', 13, 'Normal', BigInt(MAINNET.maxInstructionsPerMessage));
  const envelope = (call: Call, to: Principal) => ingressMessageBytes(caller, to, call.method, call.arg);
  const messageCost = (call: Call, to: Principal, used: bigint) =>
    fees.ingressInductionCost(BigInt(envelope(call, to))) + fees.executionCost(used, false);

  // Check: what the simulator charged for each message against the model over the metered instructions.
  const model = [beginI, fullI, tailI, finishI].reduce(
    (sum, used, i) => sum + messageCost(calls[i]!, charging, used),
    0n,
  );
  const total = charged.reduce((a, b) => a + b, 0n);
  results['costs.cycles_charged_vs_model'] = {
    value: Math.abs(Number(total) / Number(model) - 1) * 100,
    unit: '% off',
    note: `charged ${(Number(total) / 1e9).toFixed(3)} B cycles for a 2-chunk upload in this run; the fee model over the metered instructions says ${(Number(model) / 1e9).toFixed(3)} B`,
  };

  // 1 GB (10^9 bytes) in 1.9 MB chunks: begin, the chunks, finish; ingress and execution.
  const chunks = Math.ceil(GB / CHUNK);
  const lastChunk = GB - (chunks - 1) * CHUNK;
  const session = new Uint8Array(32);
  const ingressOf = (call: Call): bigint => fees.ingressInductionCost(BigInt(envelope(call, charging)));
  const gbMessages: [Call, bigint, number][] = [
    [beginCall(new Uint8Array(0)), beginI, 1],
    [putCall(session, 0, new Uint8Array(CHUNK)), BigInt(Math.round(instructions(CHUNK))), chunks - 1],
    [putCall(session, chunks - 1, new Uint8Array(lastChunk)), BigInt(Math.round(instructions(lastChunk))), 1],
    [finishCall(session, new Uint8Array(0)), finishI, 1],
  ];
  let perGb = 0n;
  let ingressPerGb = 0n;
  for (const [call, used, count] of gbMessages) {
    perGb += BigInt(count) * messageCost(call, charging, used);
    ingressPerGb += BigInt(count) * ingressOf(call);
  }
  results['costs.cycles_per_gb_uploaded'] = {
    value: Number(perGb) / T,
    unit: 'T cycles',
    note: `1 GB in ${chunks} put_chunk messages of ${CHUNK / 1e6} MB, Normal schedule, 13 nodes; ${((Number(ingressPerGb) / Number(perGb)) * 100).toFixed(0)}% ingress, the rest execution`,
  };
  results['costs.cycles_per_gb_month_stored'] = {
    value: Number(fees.memoryCost(BigInt(GB), MONTH_SECONDS)) / T,
    unit: 'T cycles',
    note: '10^9 bytes for 30 days at gib_storage_per_second_fee (127 000 per GiB·s), 13 nodes',
  };

  // Mainnet projection (bench/mainnet.ts): 1.9 MB chunks, and the chunk size the limits favour.
  // A put_chunk's envelope depends on its argument's length only: Candid of an empty chunk, plus
  // the chunk and the longer LEB128 of its length.
  const emptyPut = putCall(session, 0, new Uint8Array(0)).arg.length;
  const leb128Length = (n: number): number => (n < 128 ? 1 : 1 + leb128Length(Math.floor(n / 128)));
  const spare = new Uint8Array(emptyPut + 4 + CHUNK);
  const putEnvelope = (bytes: number): number =>
    ingressMessageBytes(
      caller,
      charging,
      'put_chunk',
      spare.subarray(0, emptyPut - 1 + leb128Length(bytes) + bytes),
    );
  if (putEnvelope(CHUNK) !== envelope(putCall(session, 0, new Uint8Array(CHUNK)), charging))
    throw new Error('the put_chunk envelope estimate is off');
  const projectionFor = (bytes: number) =>
    projectUpload(bytes, Math.round(instructions(bytes)), putEnvelope(bytes));
  const current = projectionFor(CHUNK);
  results['costs.mainnet.put_chunk_rounds'] = {
    value: current.roundsPerMessage,
    unit: 'rounds',
    note: `a ${CHUNK / 1e6} MB put_chunk in ${MAINNET.maxInstructionsPerSlice / 1e9} B-instruction DTS slices, one per round`,
  };
  results['costs.mainnet.upload_mb_per_s'] = {
    value: current.bytesPerSecond / 1e6,
    unit: 'MB/s',
    note: `one canister, ${CHUNK / 1e6} MB chunks, ${MAINNET.roundsPerSecond} round/s (bench/README.md, Mainnet projection)`,
  };
  let best: { bytes: number; bytesPerSecond: number } = {
    bytes: CHUNK,
    bytesPerSecond: current.bytesPerSecond,
  };
  for (let bytes = 16 * 1024; bytes <= CHUNK; bytes += 4 * 1024) {
    const p = projectionFor(bytes);
    if (p.bytesPerSecond > best.bytesPerSecond) best = { bytes, bytesPerSecond: p.bytesPerSecond };
  }
  results['costs.mainnet.best_chunk_kb'] = {
    value: best.bytes / 1024,
    unit: 'KiB',
    note: 'the chunk size (4 KiB steps) with the highest projected throughput: one that fits a slice runs several per round',
  };
  results['costs.mainnet.best_upload_mb_per_s'] = {
    value: best.bytesPerSecond / 1e6,
    unit: 'MB/s',
    note: 'one canister at that chunk size',
  };
}
