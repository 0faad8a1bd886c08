// linux.netDevices (config-linux.md "Network Devices"): each device of the runtime's network
// namespace named there is moved into the container's by runt-init (step netDevice: netlink through
// a socket the runtime opened in its own namespace), renamed, with its permanent global addresses,
// and set up. As the spec says, runt does not move it back: when the namespace goes away the
// kernel returns physical devices to the initial namespace and destroys virtual ones.
import type { Spec } from '../spec/types.js';
import { PlanError } from '../errors.js';
import type { Step } from './steps.js';

/** Whether runt carries out linux.netDevices (the features document reports this). */
export const NET_DEVICES_SUPPORTED = true;

export function netDeviceSteps(spec: Pick<Spec, 'linux'>, netlinkFd: number | undefined, newUser: boolean): Step[] {
  const devices = Object.entries(spec.linux?.netDevices ?? {});
  if (devices.length === 0) return [];
  if (newUser) {
    throw new PlanError(
      'linux.netDevices',
      "not supported with a new user namespace (moving a device needs CAP_NET_ADMIN in the runtime's namespace, which the init has left)",
    );
  }
  return devices.map(([name, d]) => ({
    op: 'netDevice',
    fd: netlinkFd ?? -1,
    name,
    ...(d?.name ? { newName: d.name } : {}),
    field: `linux.netDevices["${name}"]`,
    why: `move ${name} from the runtime's network namespace${d?.name && d.name !== name ? ` as ${d.name}` : ''}, keep its permanent addresses, set it up`,
  }));
}
