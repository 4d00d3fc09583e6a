import type { ClusterConfig } from '../../config/index.ts';
import { configError } from '../../errors.ts';
import { CommandWriter, NoWriter } from './command.ts';
import type { WriterEndpoint } from './contract.ts';
import { HaproxyWriter } from './haproxy.ts';

export function writerFor(cluster: Pick<ClusterConfig, 'name' | 'writer'>): WriterEndpoint {
  const w = cluster.writer;
  if (!w || w.type === 'none') return new NoWriter();
  if (w.type === 'haproxy') {
    if (!w.socket || !w.backend)
      throw configError(
        `Cluster ${cluster.name}: writer type haproxy needs "socket" and "backend".`,
        'Add "socket": "/path/to/haproxy.sock" and "backend": "<writer backend>" to the writer.',
      );
    return new HaproxyWriter(w.socket, w.backend);
  }
  if (!w.command)
    throw configError(`Cluster ${cluster.name}: writer type command needs "command".`, 'Add "command": "the command that moves the writer endpoint".');
  return new CommandWriter(w.command);
}
