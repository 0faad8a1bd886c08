// net_cls and net_prio: traffic class ids and interface priorities (cgroup v1 only).
import { CgroupError } from '../../errors.js';
import { type CgroupController, F } from './controller.js';

export const network: CgroupController = {
  resource: 'network',
  v1(r, c) {
    if (r.network?.classID !== undefined) {
      const field = `${F}.network.classID`;
      c.write(c.dir('net_cls', field), 'net_cls.classid', String(r.network.classID), field);
    }
    (r.network?.priorities ?? []).forEach((p, i) => {
      const field = `${F}.network.priorities[${i}]`;
      c.write(c.dir('net_prio', field), 'net_prio.ifpriomap', `${p.name} ${p.priority}`, field);
    });
  },
  v2(r) {
    if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
      throw new CgroupError(`${F}.network: cgroup v2 has no net_cls or net_prio controller (use eBPF or nftables for traffic classes)`);
    }
  },
};
