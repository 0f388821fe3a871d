/** The at-rest scanner itself: a scan that misses a value would let no-plaintext.test.ts pass vacuously. */
import { describe, expect, it } from 'vitest';
import { Matcher, type Needle, encodingsOf, utf16be } from './scan.js';

const hits = (values: string[], hay: Buffer): string[] =>
  [...new Matcher(values.flatMap(encodingsOf)).find(hay).keys()].map((n) => `${n.value}/${n.encoding}`).sort();

const encodings = (found: Map<Needle, number>): string[] => [...found.keys()].map((n) => n.encoding);

describe('at-rest scanner', () => {
  it('finds a value in every encoding it looks for, anywhere in the bytes', () => {
    const hay = Buffer.concat([
      Buffer.from([0, 1, 2, 0xff]),
      Buffer.from('Rajesh Kumar', 'utf8'),
      Buffer.from([7]),
      Buffer.from('sunita', 'utf16le'),
      utf16be('पेशाब में जलन'),
    ]);
    expect(hits(['Rajesh Kumar', 'Sunita', 'पेशाब में जलन', 'absent value'], hay)).toEqual([
      'Rajesh Kumar/utf8',
      'Sunita/utf16le-lower',
      'पेशाब में जलन/utf16be',
    ]);
  });

  it('counts a digit-only value where it stands alone, not inside a hex hash or a longer number', () => {
    const m = new Matcher(encodingsOf('560066'));
    expect(m.find(Buffer.from('{"postalCode":"560066"}')).size).toBe(1);
    expect(m.find(Buffer.from('Bengaluru 560066\n')).size).toBe(1);
    expect(m.find(Buffer.from('560066')).size).toBe(1);
    // UTF-16LE digits read one byte on are UTF-16BE digits too: both encodings are found.
    expect(encodings(m.find(Buffer.from(' 560066 ', 'utf16le')))).toContain('utf16le');
    expect(encodings(m.find(utf16be('(560066)')))).toContain('utf16be');
    expect(m.embedded).toBe(0);

    expect(m.find(Buffer.from('"prev":"9f3a560066c1e2"')).size).toBe(0);
    expect(m.find(Buffer.from('17640405600661')).size).toBe(0);
    expect(encodings(m.find(Buffer.from('a560066', 'utf16le')))).not.toContain('utf16le');
    expect(encodings(m.find(utf16be('5600669')))).not.toContain('utf16be');
    expect(m.embedded).toBeGreaterThanOrEqual(4);
  });

  it('keeps finding values with letters wherever they are', () => {
    expect(hits(['Sharma'], Buffer.from('xxSharmaxx'))).toEqual(['Sharma/utf8']);
  });
});
