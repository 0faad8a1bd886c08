// hugetlb: huge page limits per page size (and the reservation limit where the kernel has it).
import { CgroupError } from '../../errors.js';
import { v1Limit, v2Limit } from '../convert.js';
import { type CgroupController, F } from './controller.js';

export const hugetlb: CgroupController = {
  resource: 'hugepageLimits',
  v1(r, c) {
    (r.hugepageLimits ?? []).forEach((h, i) => {
      const field = `${F}.hugepageLimits[${i}]`;
      const dir = c.dir('hugetlb', field);
      const file = `hugetlb.${h.pageSize}.limit_in_bytes`;
      if (!c.has(dir, file)) throw new CgroupError(`${field}.pageSize: this kernel has no ${h.pageSize} huge pages`);
      c.write(dir, file, v1Limit(h.limit), `${field}.limit`);
      const rsvd = `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`;
      if (c.has(dir, rsvd)) c.write(dir, rsvd, v1Limit(h.limit), `${field}.limit`);
    });
  },
  v2(r, c) {
    (r.hugepageLimits ?? []).forEach((h, i) => {
      const field = `${F}.hugepageLimits[${i}]`;
      const dir = c.dir('hugetlb', field);
      const file = `hugetlb.${h.pageSize}.max`;
      const available = (c.read(dir, 'cgroup.controllers') ?? '').split(/\s+/);
      if (!c.has(dir, file) && available.includes('hugetlb')) {
        throw new CgroupError(`${field}.pageSize: this kernel has no ${h.pageSize} huge pages`);
      }
      c.writeV2(dir, file, v2Limit(h.limit), `${field}.limit`);
      const rsvd = `hugetlb.${h.pageSize}.rsvd.max`;
      if (c.has(dir, rsvd)) c.write(dir, rsvd, v2Limit(h.limit), `${field}.limit`);
    });
  },
};
