// rdma: HCA handles and objects per device (rdma.max on both versions).
import { type CgroupController, F } from './controller.js';

export function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string {
  const parts = [dev];
  if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
  if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
  return parts.join(' ');
}

export const rdma: CgroupController = {
  resource: 'rdma',
  v1(r, c) {
    for (const [dev, l] of Object.entries(r.rdma ?? {})) {
      const field = `${F}.rdma.${dev}`;
      c.write(c.dir('rdma', field), 'rdma.max', rdmaLine(dev, l), field);
    }
  },
  v2(r, c) {
    for (const [dev, l] of Object.entries(r.rdma ?? {})) c.writeV2(c.dir('rdma', ''), 'rdma.max', rdmaLine(dev, l), `${F}.rdma.${dev}`);
  },
};
