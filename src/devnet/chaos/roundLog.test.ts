import { roundLogEvents } from './roundLog.js';

test('completed and failed rounds are read with their session and error code; cut and foreign lines are skipped', () => {
  const log = [
    '{"level":30,"time":1,"session":100,"type":"reshare","msg":"round started"}',
    '{"level":30,"time":2,"session":100,"version":100,"msg":"round completed; new key version active"}',
    '{"level":40,"time":3,"session":110,"err":{"code":"NOT_ENOUGH_DEALERS","message":"only 2"},"msg":"round failed; the node retries at a later boundary"}',
    '{"level":40,"time":4,"session":120,"msg":"round failed; the node retries at a later boundary"}',
    '{"level":30,"time":5,"session":13',
    'redis-server: ready',
  ].join('\n');
  expect(roundLogEvents(log)).toEqual([
    { session: 100, outcome: 'completed' },
    { session: 110, outcome: 'failed:NOT_ENOUGH_DEALERS' },
    { session: 120, outcome: 'failed:UNKNOWN' },
  ]);
});
