// The cgroup v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the
// cgroup. This file compiles a DeviceState (devices.ts) into that program's instructions; loading
// and attaching is the addon's job.
//
// The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } where
// access_type = (access << 16) | type, and returns 1 to allow, 0 to deny. It checks the exceptions
// in order, then returns the default, with the v1 kernel's matching rules:
//   default deny:  allowed when one exception covers all the requested access bits;
//   default allow: denied when one exception covers any of the requested access bits.
import type { DeviceState } from './devices.js';

/** BPF_DEVCG_DEV_* and BPF_DEVCG_ACC_* from <linux/bpf.h>. */
export const BPF_DEVCG_DEV = { b: 1, c: 2 } as const;
export const BPF_DEVCG_ACC = { m: 1, r: 2, w: 4 } as const;

// Opcodes (class | size/op | source) used below.
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const JMP_JNE_K = 0x55;
const JMP_JEQ_K = 0x15;
const JMP_EXIT = 0x95;

const INSN_SIZE = 8;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

function accessBits(access: string): number {
  let bits = 0;
  for (const c of access) bits |= BPF_DEVCG_ACC[c as keyof typeof BPF_DEVCG_ACC] ?? 0;
  return bits;
}

/** The program as struct bpf_insn[] in little-endian bytes, ready for BPF_PROG_LOAD. */
export function deviceFilterProgram(state: DeviceState): Uint8Array {
  const verdict = state.defaultAllow ? 0 : 1; // what an exception decides
  const out: Insn[] = [
    // r2 = type, r3 = access, r4 = major, r5 = minor (r1 holds the context).
    insn(LDX_MEM_W, 2, 1, 0, 0),
    insn(ALU64_AND_K, 2, 0, 0, 0xffff),
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU64_RSH_K, 3, 0, 0, 16),
    insn(LDX_MEM_W, 4, 1, 4, 0),
    insn(LDX_MEM_W, 5, 1, 8, 0),
  ];
  for (const e of state.exceptions) {
    const block: Insn[] = [];
    // Every jump in the block goes to the next block: `off` is filled in once the length is known.
    block.push(insn(JMP_JNE_K, 2, 0, -1, BPF_DEVCG_DEV[e.type]));
    if (e.major >= 0) block.push(insn(JMP_JNE_K, 4, 0, -1, e.major));
    if (e.minor >= 0) block.push(insn(JMP_JNE_K, 5, 0, -1, e.minor));
    const bits = accessBits(e.access);
    block.push(insn(ALU64_MOV_X, 1, 3, 0, 0));
    if (state.defaultAllow) {
      block.push(insn(ALU64_AND_K, 1, 0, 0, bits));
      block.push(insn(JMP_JEQ_K, 1, 0, -1, 0)); // no requested bit is listed: not this exception
    } else {
      block.push(insn(ALU64_AND_K, 1, 0, 0, ~bits & 0x7));
      block.push(insn(JMP_JNE_K, 1, 0, -1, 0)); // a requested bit is not listed: not this exception
    }
    block.push(insn(ALU64_MOV_K, 0, 0, 0, verdict));
    block.push(insn(JMP_EXIT, 0, 0, 0, 0));
    block.forEach((ins, i) => {
      if (ins.off === -1) ins.off = block.length - i - 1;
    });
    out.push(...block);
  }
  out.push(insn(ALU64_MOV_K, 0, 0, 0, state.defaultAllow ? 1 : 0));
  out.push(insn(JMP_EXIT, 0, 0, 0, 0));

  const bytes = new Uint8Array(out.length * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  out.forEach((ins, i) => {
    const at = i * INSN_SIZE;
    view.setUint8(at, ins.code);
    view.setUint8(at + 1, (ins.src << 4) | ins.dst);
    view.setInt16(at + 2, ins.off, true);
    view.setInt32(at + 4, ins.imm | 0, true);
  });
  return bytes;
}

/** License string to pass with BPF_PROG_LOAD (the program calls no GPL-only helper). */
export const DEVICE_FILTER_LICENSE = 'Apache-2.0';
