import { describe, expect, it } from 'vitest';
import { positionFrom, positionLine } from '../../src/execution/watchdog.ts';

describe("the recorded position on the watchdog's input", () => {
  it('a MySQL gtid_executed of several servers (one line each) arrives whole', () => {
    const mysql = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n8d2a6c1e-71ca-11e1-9e33-c80aa9429563:1-23';
    const lines = `{"cfg":1}\n${positionLine(mysql)}moved\n`.split('\n');
    expect(positionFrom(lines.slice(1))).toBe('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,8d2a6c1e-71ca-11e1-9e33-c80aa9429563:1-23');
  });
  it('a MariaDB gtid_current_pos of several domains, and an empty one', () => {
    expect(positionFrom(positionLine('0-1-205,1-2-7').split('\n'))).toBe('0-1-205,1-2-7');
    expect(positionFrom(positionLine('').split('\n'))).toBe('');
    expect(positionFrom(['block', 'moved'])).toBeUndefined();
  });
});
