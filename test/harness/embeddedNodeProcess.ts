/**
 * A stand-in node process for tests: starts an EmbeddedRedisServer on argv[2], prints one
 * JSON line {"redisPid":…} (or {"error":code}) and runs until SIGTERM (graceful stop) or
 * until killed. Run with tsx: `tsx test/harness/embeddedNodeProcess.ts <dataPath>`.
 */
import { silentLogger } from '../../src/logging/logger.js';
import { EmbeddedRedisServer } from '../../src/persistence/redis/embedded/embeddedRedisServer.js';
import { isKmsError } from '../../src/errors.js';

const dataPath = process.argv[2];
if (dataPath === undefined) throw new Error('usage: embeddedNodeProcess <dataPath>');

try {
  const server = await EmbeddedRedisServer.start({ dataPath, logger: silentLogger() });
  process.stdout.write(`${JSON.stringify({ redisPid: server.pid })}\n`);
  process.on('SIGTERM', () => { void server.stop().then(() => process.exit(0)); });
  setInterval(() => undefined, 60_000);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: isKmsError(error) ? error.code : String(error) })}\n`);
  process.exit(1);
}
