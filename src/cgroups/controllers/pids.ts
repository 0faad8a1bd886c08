// pids: the number of tasks (pids.max on both versions).
import { v2Limit } from '../convert.js';
import { type CgroupController, F } from './controller.js';

export const pids: CgroupController = {
  resource: 'pids',
  v1(r, c) {
    const limit = r.pids?.limit;
    if (limit === undefined) return;
    const field = `${F}.pids.limit`;
    c.write(c.dir('pids', field), 'pids.max', limit === -1 ? 'max' : String(limit), field);
  },
  v2(r, c) {
    const limit = r.pids?.limit;
    if (limit === undefined) return;
    c.writeV2(c.dir('pids', ''), 'pids.max', v2Limit(limit), `${F}.pids.limit`);
  },
};
