import { Writable } from 'node:stream';
import { describePersistenceConformance } from '../../../test/integration/persistence/conformance.js';
import { createLogger, silentLogger } from '../../logging/logger.js';
import { MemoryPersistence } from './memoryPersistence.js';

describePersistenceConformance('memory', () => Promise.resolve({
  durable: false,
  open: () => Promise.resolve(new MemoryPersistence({ logger: silentLogger() })),
  dispose: () => Promise.resolve(),
}), { records: false });

describe('MemoryPersistence', () => {
  it('warns loudly on creation that nothing survives a restart', () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    new MemoryPersistence({ logger: createLogger({ destination }) });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as { level: number; msg: string };
    expect(entry.level).toBe(40);
    expect(entry.msg).toContain('IN-MEMORY PERSISTENCE');
    expect(entry.msg).toContain('lost on restart');
  });
});
