// devices: which device nodes the container may open. v1 writes devices.allow/deny rules; v2 has
// no files for it: an eBPF program attached to the cgroup decides (devices-bpf.ts).
import { deviceFilterProgram } from '../devices-bpf.js';
import { type DeviceState, deviceRuleText, effectiveDeviceState, parseDevicesList, sameDeviceState } from '../devices.js';
import { type CgroupController, F } from './controller.js';

const FIELD = `${F}.devices`;

export const devices: CgroupController = {
  resource: 'devices',
  /** Bring devices.allow/deny from what devices.list shows to the rules' state. When both are
   *  allow-lists only the difference is written, so running processes never lose a device they
   *  keep; otherwise the list is reset first (only happens before the container runs, in practice). */
  v1(r, c) {
    if (!r.devices) return;
    const dir = c.dir('devices', FIELD);
    const target = effectiveDeviceState(r.devices, { defaultAllow: false, exceptions: [] });
    const currentText = c.read(dir, 'devices.list');
    const current: DeviceState | undefined = currentText === undefined ? undefined : parseDevicesList(currentText);
    if (current && sameDeviceState(current, target)) return;
    const allow = (rule: string) => c.write(dir, 'devices.allow', rule, FIELD);
    const deny = (rule: string) => c.write(dir, 'devices.deny', rule, FIELD);
    const sameDevice = (a: DeviceState['exceptions'][number], b: DeviceState['exceptions'][number]) =>
      deviceRuleText({ ...a, access: '' }) === deviceRuleText({ ...b, access: '' });
    if (current && !current.defaultAllow && !target.defaultAllow) {
      for (const e of current.exceptions) {
        const t = target.exceptions.find((x) => sameDevice(x, e));
        const drop = [...e.access].filter((ch) => !t?.access.includes(ch)).join('');
        if (drop) deny(deviceRuleText({ ...e, access: drop }));
      }
      for (const t of target.exceptions) {
        const e = current.exceptions.find((x) => sameDevice(x, t));
        const add = [...t.access].filter((ch) => !e?.access.includes(ch)).join('');
        if (add) allow(deviceRuleText({ ...t, access: add }));
      }
      return;
    }
    // The common case (a new cgroup): one rule for all, then the exceptions (the applier writes
    // consecutive rules to one file through one open).
    const exceptions = target.exceptions.map(deviceRuleText);
    if (target.defaultAllow) {
      allow('a');
      exceptions.forEach(deny);
    } else {
      deny('a');
      exceptions.forEach(allow);
    }
  },
  v2(r, c) {
    if (!r.devices) return;
    const dir = c.dir('devices', FIELD);
    const state = effectiveDeviceState(r.devices, { defaultAllow: false, exceptions: [] });
    const rules = state.exceptions.map(deviceRuleText).join('; ');
    c.writes.push({
      file: dir,
      value: `BPF_CGROUP_DEVICE program: ${state.defaultAllow ? 'allow' : 'deny'} by default${rules ? `, except ${rules}` : ''}`,
      field: FIELD,
      program: deviceFilterProgram(state),
    });
  },
};
