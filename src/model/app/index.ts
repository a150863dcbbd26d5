import type { ResolvedApp } from '../../scenario/resolve.ts';
import type { Task, TaskTable } from '../task.ts';
import type { XskSocket } from '../xsk.ts';
import { afXdpReader, type XskAppHost } from './af-xdp-reader.ts';
import { cpuHog } from './cpu-hog.ts';
import type { LocalTcpSender } from '../local-sender.ts';
import { rrServer } from './rr-server.ts';
import { streamReader } from './stream-reader.ts';
import { streamWriter } from './stream-writer.ts';
import { udpSink } from './udp-sink.ts';

/**
 * The task of an application, asleep until the machine starts. A reader with no socket (no flow
 * reaches its listen address) sleeps for ever, like a server nobody connects to; so does a
 * writer no flow names as its sender.
 */
export function createAppTask(k: XskAppHost & { readonly tasks: TaskTable; xskOf(app: number): XskSocket | undefined }, app: ResolvedApp): Task {
  const task = k.tasks.spawn(app.name, app.cpus, app.nice, 'app', app.cgroup);
  const socks = k.sockets.sockets.filter((s) => s.app === app.index);
  for (const s of socks) k.busyPoll.initSocket(s, app);
  const udp = socks.filter((s) => s.proto === 'udp');
  const ep = app.epoll && udp.length > 0 ? k.epollCreate(udp, app.epoll) : null;
  if (app.kind === 'cpu-hog') task.activity = cpuHog(task);
  else if (app.kind === 'stream-reader')
    task.activity = streamReader(
      k,
      task,
      app,
      socks.filter((s) => s.proto === 'tcp'),
    );
  else if (app.kind === 'udp-sink') task.activity = udpSink(k, task, app, udp, ep);
  else if (app.kind === 'rr-server') task.activity = rrServer(k, task, app, udp, ep);
  else if (app.kind === 'af-xdp-reader') task.activity = afXdpReader(k, task, app, k.xskOf(app.index)!);
  else
    task.activity = streamWriter(
      k,
      task,
      k.sockets.localSenders.filter((s): s is LocalTcpSender => s !== undefined && s.flow.sender === app.index),
    );
  return task;
}
