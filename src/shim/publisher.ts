// Task events to containerd, in the order they were published: each one is an Envelope forwarded
// to containerd's ttrpc Events service (TTRPC_ADDRESS, as containerd tells its shims), the way
// containerd's own shims publish. One queue, one connection, re-made when containerd restarts; an
// event that cannot be delivered is retried with backoff for a while (containerd may be
// restarting) and then dropped with a log line, so that one dead containerd does not stall the shim.
import { TtrpcClient } from './ttrpc-client.js';
import { timestamp, toAny } from './proto.js';

export const TOPIC = {
  TaskCreate: '/tasks/create',
  TaskStart: '/tasks/start',
  TaskExit: '/tasks/exit',
  TaskDelete: '/tasks/delete',
  TaskExecAdded: '/tasks/exec-added',
  TaskExecStarted: '/tasks/exec-started',
  TaskOOM: '/tasks/oom',
  TaskPaused: '/tasks/paused',
  TaskResumed: '/tasks/resumed',
} as const;

export type EventName = keyof typeof TOPIC;

interface Queued {
  name: EventName;
  event: Record<string, unknown>;
  at: number;
}

const RETRY_MS = [100, 200, 500, 1000, 2000, 3000, 5000, 5000, 5000, 5000];

export class EventPublisher {
  private readonly queue: Queued[] = [];
  private client?: TtrpcClient;
  private pumping?: Promise<void>;

  constructor(
    private readonly ttrpcAddress: string,
    readonly namespace: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  publish(name: EventName, event: Record<string, unknown>): void {
    this.queue.push({ name, event, at: Date.now() });
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  /** Resolves once every event published so far was delivered or given up on. */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  close(): void {
    this.client?.close();
  }

  private async pump(): Promise<void> {
    while (this.queue.length) {
      const item = this.queue[0];
      for (let attempt = 0; ; attempt++) {
        try {
          await this.forward(item);
          break;
        } catch (e) {
          this.client?.close();
          this.client = undefined;
          if (attempt >= RETRY_MS.length) {
            this.log(`event ${item.name} dropped: ${(e as Error).message}`);
            break;
          }
          await new Promise((r) => setTimeout(r, RETRY_MS[attempt]));
        }
      }
      this.queue.shift();
    }
  }

  private async forward(item: Queued): Promise<void> {
    if (!this.client || this.client.closed) this.client = await TtrpcClient.connect(this.ttrpcAddress.replace(/^unix:\/\//, ''));
    await this.client.call(
      'containerd.services.events.ttrpc.v1.Events',
      'Forward',
      'containerd.services.events.ttrpc.v1.ForwardRequest',
      {
        envelope: {
          timestamp: timestamp(item.at),
          namespace: this.namespace,
          topic: TOPIC[item.name],
          event: toAny(`containerd.events.${item.name}`, item.event),
        },
      },
      'google.protobuf.Empty',
      { 'containerd-namespace-ttrpc': this.namespace },
    );
  }
}
